import { FlowProducer, type Job, Queue, type QueueOptions } from 'bullmq'
import IORedis, { type Redis } from 'ioredis'
import type { Config } from './config'

/** Month jobs: resolve the tenants of a month and fan out one child job per tenant. */
export const MONTH_QUEUE = 'question-analysis'
/** Tenant jobs: analyse one tenant-month and store the result. */
export const TENANT_QUEUE = 'question-analysis-tenant'
export const MONTH_JOB = 'analyze-month'
export const TENANT_JOB = 'analyze-tenant'
export const SCHEDULER_ID = 'monthly-question-analysis'

export interface MonthJobData {
  /** YYYY-MM; absent for the scheduled job (then: the month before the scheduled time, UTC). */
  month?: string
  /** Only this tenant (default: every active tenant). */
  tenantId?: string
  /** Re-analyse tenants that already have this month. */
  force?: boolean
  correlationId?: string
  trigger?: 'cron' | 'api' | 'cli' | 'test'
  /** Set by the processor: where a resumed month job continues. */
  step?: 'fanout' | 'waiting'
  children?: Array<{ tenantId: string; jobId: string }>
}

export interface TenantJobData {
  tenantId: string
  month: string
  force: boolean
  /** This tenant job's correlation id (logs, runs table, the library's log lines). */
  correlationId: string
  /** The month job's correlation id. */
  parentCorrelationId: string
}

export interface TenantJobProgress {
  tenantId: string
  stage: string
  percent: number
}

export interface TenantJobResult {
  tenantId: string
  month: string
  status: 'completed' | 'skipped'
  runId: string
  messages?: number
  questions?: number
  clusters?: number
}

export interface MonthJobResult {
  month: string
  tenantId?: string
  tenants: number
  completed: string[]
  skipped: string[]
  failed: Array<{ tenantId: string; error: string }>
}

/** A Redis connection fit for BullMQ workers (blocking commands: no per-request retry limit). */
export function createRedis(config: Pick<Config, 'redisUrl'>): Redis {
  return new IORedis(config.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false })
}

export function queueOptions(config: Pick<Config, 'queuePrefix'>, connection: Redis): QueueOptions {
  return { connection, prefix: config.queuePrefix }
}

export interface Queues {
  monthQueue: Queue<MonthJobData, MonthJobResult>
  tenantQueue: Queue<TenantJobData, TenantJobResult>
  flow: FlowProducer
  close(): Promise<void>
}

export function createQueues(config: Pick<Config, 'queuePrefix' | 'worker'>, connection: Redis): Queues {
  const keep = { removeOnComplete: { count: config.worker.keepCompleted }, removeOnFail: { count: config.worker.keepFailed } }
  const monthQueue = new Queue<MonthJobData, MonthJobResult>(MONTH_QUEUE, {
    ...queueOptions(config, connection),
    defaultJobOptions: { ...keep, attempts: config.worker.attempts, backoff: { type: 'exponential', delay: config.worker.backoffMs } },
  })
  const tenantQueue = new Queue<TenantJobData, TenantJobResult>(TENANT_QUEUE, queueOptions(config, connection))
  const flow = new FlowProducer({ connection, prefix: config.queuePrefix })
  return {
    monthQueue,
    tenantQueue,
    flow,
    async close() {
      await Promise.all([monthQueue.close(), tenantQueue.close(), flow.close()])
    },
  }
}

/** Queues a month job (manual trigger). */
export async function enqueueMonthAnalysis(queue: Queue<MonthJobData, MonthJobResult>, data: MonthJobData): Promise<Job<MonthJobData, MonthJobResult>> {
  return queue.add(MONTH_JOB, { ...data, step: 'fanout' })
}

/**
 * A job's state, then its data: in that order, a `completed` or `failed` state always comes with
 * its return value / failure reason (they are written together), which reading the job first
 * and its state second would not guarantee.
 */
export async function jobWithState(
  queue: Queue<MonthJobData, MonthJobResult>,
  jobId: string,
): Promise<{ state: string; job: Job<MonthJobData, MonthJobResult> } | undefined> {
  const state = await queue.getJobState(jobId)
  if (state === 'unknown') return undefined
  const job = await queue.getJob(jobId)
  return job ? { state, job } : undefined
}
