import { randomUUID } from 'node:crypto'
import { FlowProducer, type Job, type JobType, Queue, type QueueOptions, UnrecoverableError } from 'bullmq'
import IORedis, { type Redis } from 'ioredis'
import type { Config } from './config'
import { isMonth, previousMonth } from './month'

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
  /** Set by the processor: tenants already being analysed for this month under another job. */
  alreadyRunning?: Array<{ tenantId: string; jobId: string }>
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
  /** Tenants whose analysis of the month was already running under another job (not run twice). */
  alreadyRunning: Array<{ tenantId: string; jobId: string }>
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
  /** The connection the queues use (also for the month lock) and their key prefix. */
  redis: Redis
  prefix: string
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
    redis: connection,
    prefix: config.queuePrefix,
    async close() {
      await Promise.all([monthQueue.close(), tenantQueue.close(), flow.close()])
    },
  }
}

// -- one run per tenant and month ----------------------------------------------------------------
//
// Job ids are deterministic: a month job per month and tenant filter, a tenant job per tenant and
// month. BullMQ never adds a second job under an id that exists, so two triggers of the same
// tenant-month, or a trigger during the scheduled run, lead to one run. A finished job's id is
// freed (the job removed) when the month is triggered again. Triggers and fan-outs of a month
// are serialised by a short Redis lock, so checking for a running job and adding one is atomic.

/** The id of a month job: `month-2025-01-all`, or `month-2025-01-tenant-acme` for one tenant. */
export function monthJobId(month: string, tenantId?: string): string {
  return tenantId === undefined ? `month-${month}-all` : `month-${month}-tenant-${tenantId}`
}

/** The id of a tenant job: one per tenant and month (custom BullMQ ids cannot contain ':'). */
export function tenantJobId(tenantId: string, month: string): string {
  return `tenant-${tenantId}-${month}`
}

/** The time a job was scheduled for: a scheduler's fire time, else when it was added (plus its delay). */
export function scheduledTime(job: { timestamp: number; delay?: number; opts?: { prevMillis?: number } }): number {
  return job.opts?.prevMillis ?? job.timestamp + (job.delay ?? 0)
}

/** The month a month job analyses: its `month`, else the calendar month before its scheduled time (UTC). */
export function monthForJob(job: { data: MonthJobData; timestamp: number; delay?: number; opts?: { prevMillis?: number } }): string {
  if (job.data.month !== undefined) {
    if (!isMonth(job.data.month)) throw new UnrecoverableError(`invalid month ${JSON.stringify(job.data.month)}`)
    return job.data.month
  }
  return previousMonth(scheduledTime(job))
}

/** States of a job that has not finished (a delayed job is a retry waiting for its backoff). */
const UNFINISHED: JobType[] = ['active', 'waiting', 'waiting-children', 'prioritized', 'delayed', 'paused']

export function isUnfinished(state: string): boolean {
  return (UNFINISHED as string[]).includes(state)
}

/** The key of the lock that serialises a month's triggers and fan-outs. */
export function monthLockKey(prefix: string, month: string): string {
  return `${prefix}:${MONTH_QUEUE}:lock:${month}`
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/** Runs `fn` holding a Redis lock (SET NX PX, released only by its holder; it expires after ttlMs). */
export async function withLock<T>(redis: Pick<Redis, 'set' | 'eval'>, key: string, fn: () => Promise<T>, { ttlMs = 60_000, waitMs = 60_000 } = {}): Promise<T> {
  const token = randomUUID()
  const deadline = Date.now() + waitMs
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`timed out after ${waitMs} ms waiting for the lock ${key}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  try {
    return await fn()
  } finally {
    await redis.eval(RELEASE, 1, key, token)
  }
}

export class AlreadyRunningError extends Error {
  override name = 'AlreadyRunningError'
  constructor(
    readonly month: string,
    readonly tenantId: string | undefined,
    /** The job running it (a month job, or the tenant's job). */
    readonly jobId: string,
  ) {
    super(`the analysis of ${tenantId === undefined ? 'every tenant' : `tenant ${tenantId}`} for ${month} is already running (job ${jobId})`)
  }
}

/**
 * The unfinished job that already analyses `month` for `tenantId` (undefined: every tenant), or
 * null: a month job of that month covering it (an all-tenant one, e.g. the scheduled run, covers
 * every tenant), or the tenant's own job. The scheduler's next job, delayed until its fire time,
 * is not running.
 */
export async function runningAnalysis(
  queues: Pick<Queues, 'monthQueue' | 'tenantQueue'>,
  month: string,
  tenantId?: string,
): Promise<string | null> {
  for (const state of UNFINISHED) {
    for (const job of await queues.monthQueue.getJobs([state])) {
      if (!job?.id) continue
      if (state === 'delayed' && job.attemptsMade === 0) continue // not started yet: a future scheduled run
      const covers = job.data.tenantId === undefined || job.data.tenantId === tenantId
      if (covers && monthForJob(job) === month) return job.id
    }
  }
  if (tenantId !== undefined) {
    const id = tenantJobId(tenantId, month)
    if (isUnfinished(await queues.tenantQueue.getJobState(id))) return id
  }
  return null
}

/**
 * Queues a month job (admin API, CLI): one run per tenant-month. Throws AlreadyRunningError when
 * an unfinished job already analyses that month for that tenant (or, without a tenant, for every
 * tenant). A finished job of the same id is replaced.
 */
export async function enqueueMonthAnalysis(
  queues: Pick<Queues, 'monthQueue' | 'tenantQueue' | 'redis' | 'prefix'>,
  data: MonthJobData & { month: string },
): Promise<Job<MonthJobData, MonthJobResult>> {
  const { monthQueue } = queues
  if (!isMonth(data.month)) throw new RangeError(`invalid month ${JSON.stringify(data.month)}`)
  return withLock(queues.redis, monthLockKey(queues.prefix, data.month), async () => {
    const running = await runningAnalysis(queues, data.month, data.tenantId)
    if (running) throw new AlreadyRunningError(data.month, data.tenantId, running)
    const jobId = monthJobId(data.month, data.tenantId)
    // A finished run's job (and its finished tenant jobs) frees the id.
    await monthQueue.remove(jobId, { removeChildren: true })
    return monthQueue.add(MONTH_JOB, { ...data, step: 'fanout' }, { jobId })
  })
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
