/**
 * questionAnalysisWorker: the BullMQ workers of the question analysis.
 *
 *  - A month job (queue `question-analysis`, from the monthly scheduler or the admin API) lists
 *    the active tenants (or the one asked for) and adds one child job per tenant to the
 *    `question-analysis-tenant` queue as children of itself (a BullMQ flow), then waits for them.
 *    A child that fails for good is ignored by the parent (ignoreDependencyOnFailure), so one
 *    tenant's failure never holds back or fails the others; the parent's result lists it.
 *    Tenant job ids are one per tenant and month: a tenant whose month is already being
 *    analysed under another job (a second trigger, the scheduled run) is not run twice.
 *  - A tenant job streams the tenant's messages of the month from Postgres, in pages, into
 *    question-insights' analyzeTenant, reports progress, and stores the result in one
 *    transaction that replaces any earlier result of that tenant-month.
 *
 * Every started worker process takes tenant jobs, so tenants run in parallel across processes.
 */
import { randomUUID } from 'node:crypto'
import { type FlowJob, type Job, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Config } from './config'
import type { Db } from './db/index'
import type { AnalyzeOptions, AnalyzeProgress, AnalyzeTenant, LibraryLogLine } from './library'
import type { Logger } from './logger'
import { monthMessagePages } from './messages'
import { isMonth } from './month'
import {
  MONTH_QUEUE,
  type MonthJobData,
  type MonthJobResult,
  type Queues,
  TENANT_JOB,
  TENANT_QUEUE,
  type TenantJobData,
  type TenantJobProgress,
  type TenantJobResult,
  isUnfinished,
  monthForJob,
  monthLockKey,
  tenantJobId,
  withLock,
} from './queue'
import { QuestionRepository } from './repository'
import { TenantSettingsError, tenantAnalysisSettings } from './tenant-settings'

export interface WorkerDeps {
  config: Config
  db: Db
  logger: Logger
  analyzeTenant: AnalyzeTenant
  /** Used by the workers (BullMQ duplicates it for its blocking reads) and the month lock. */
  connection: Redis
  /** Adds tenant jobs (flow) and looks them up (tenantQueue). */
  queues: Pick<Queues, 'flow' | 'tenantQueue'>
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

export class MonthProcessor {
  private readonly repo: QuestionRepository

  constructor(private readonly deps: WorkerDeps) {
    this.repo = new QuestionRepository(deps.db)
  }

  /**
   * Adds one child job per tenant, id tenantJobId(tenant, month), unless that tenant's month is
   * already running under another job: then it is listed in `alreadyRunning` instead (one run per
   * tenant-month). A finished job of the same id (an earlier run) is removed first. Runs under
   * the month's lock, so two month jobs cannot both add a tenant.
   */
  private async fanOut(job: Job<MonthJobData, MonthJobResult>, month: string, tenants: string[], correlationId: string) {
    const { config, queues, connection } = this.deps
    const ownKey = `${job.queueQualifiedName}:${job.id}`
    const children: Array<{ tenantId: string; jobId: string }> = []
    const alreadyRunning: Array<{ tenantId: string; jobId: string }> = []
    await withLock(connection, monthLockKey(config.queuePrefix, month), async () => {
      for (const tenantId of tenants) {
        const jobId = tenantJobId(tenantId, month)
        const existing = await queues.tenantQueue.getJob(jobId)
        // Added by this month job before it was interrupted (month job ids are reused once a
        // run has finished: a child of an earlier job of the same id is older than this job).
        if (existing?.parentKey === ownKey && existing.timestamp >= job.timestamp) {
          children.push({ tenantId, jobId })
          continue
        }
        if (existing) {
          if (isUnfinished(await existing.getState())) {
            alreadyRunning.push({ tenantId, jobId })
            continue
          }
          await queues.tenantQueue.remove(jobId, { removeChildren: false })
        }
        const node: FlowJob = {
          name: TENANT_JOB,
          queueName: TENANT_QUEUE,
          data: {
            tenantId,
            month,
            force: job.data.force ?? false,
            correlationId: `${correlationId}/${tenantId}`,
            parentCorrelationId: correlationId,
          } satisfies TenantJobData,
          opts: {
            jobId,
            parent: { id: job.id!, queue: job.queueQualifiedName },
            attempts: config.worker.attempts,
            backoff: { type: 'exponential', delay: config.worker.backoffMs },
            ignoreDependencyOnFailure: true,
            removeOnComplete: { count: config.worker.keepCompleted },
            removeOnFail: { count: config.worker.keepFailed },
          },
        }
        try {
          await queues.flow.add(node)
          children.push({ tenantId, jobId })
        } catch (err) {
          // Another parent holds the job (added outside the lock): it runs there.
          if (!/cannot be replaced/.test((err as Error).message)) throw err
          alreadyRunning.push({ tenantId, jobId })
        }
      }
    })
    return { children, alreadyRunning }
  }

  async process(job: Job<MonthJobData, MonthJobResult>, token?: string): Promise<MonthJobResult> {
    const { logger } = this.deps
    const month = monthForJob(job)
    const correlationId = job.data.correlationId ?? randomUUID()
    const log = logger.child({ queue: MONTH_QUEUE, jobId: job.id, month, correlationId, tenantFilter: job.data.tenantId })
    // A month job runs twice: it fans out, waits for its children (WaitingChildrenError), and
    // is processed again once they are all done.
    if ((job.data.step ?? 'fanout') === 'fanout') {
      let tenants: string[]
      if (job.data.tenantId !== undefined) {
        const t = await this.repo.getTenant(job.data.tenantId)
        if (!t) throw new UnrecoverableError(`tenant ${job.data.tenantId} does not exist`)
        tenants = [t.id]
      } else {
        tenants = (await this.repo.listActiveTenants()).map((t) => t.id)
      }
      const { children, alreadyRunning } = await this.fanOut(job, month, tenants, correlationId)
      await job.updateData({ ...job.data, month, correlationId, step: 'waiting', children, alreadyRunning })
      await job.updateProgress({ stage: 'waiting', tenants: children.length, percent: 0 })
      if (alreadyRunning.length > 0) log.warn({ alreadyRunning }, 'tenants already being analysed for this month under another job: not run twice')
      log.info({ tenants: children.length, force: job.data.force ?? false, trigger: job.data.trigger }, 'month analysis fanned out')
    }

    if (!token) throw new Error('month jobs need a worker token')
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError()

    const children = job.data.children ?? []
    const byJobId = new Map(children.map((c) => [c.jobId, c.tenantId]))
    const tenantOf = (key: string) => byJobId.get(key.slice(key.lastIndexOf(':') + 1)) ?? key
    const values = (await job.getChildrenValues<TenantJobResult>()) ?? {}
    const failures = (await job.getIgnoredChildrenFailures()) ?? {}
    const result: MonthJobResult = {
      month,
      ...(job.data.tenantId !== undefined ? { tenantId: job.data.tenantId } : {}),
      tenants: children.length,
      completed: [],
      skipped: [],
      failed: [],
      alreadyRunning: job.data.alreadyRunning ?? [],
    }
    for (const v of Object.values(values)) {
      if (v?.status === 'skipped') result.skipped.push(v.tenantId)
      else if (v) result.completed.push(v.tenantId)
    }
    for (const [key, reason] of Object.entries(failures)) result.failed.push({ tenantId: tenantOf(key), error: String(reason) })
    result.completed.sort()
    result.skipped.sort()
    result.failed.sort((a, b) => a.tenantId.localeCompare(b.tenantId))
    await job.updateProgress({ stage: 'done', tenants: children.length, percent: 100 })
    const level = result.failed.length > 0 ? 'warn' : 'info'
    log[level]({ completed: result.completed.length, skipped: result.skipped.length, failed: result.failed }, 'month analysis finished')
    return result
  }
}

export class TenantProcessor {
  private readonly repo: QuestionRepository

  constructor(private readonly deps: WorkerDeps) {
    this.repo = new QuestionRepository(deps.db)
  }

  async process(job: Job<TenantJobData, TenantJobResult>): Promise<TenantJobResult> {
    const { config, logger, db } = this.deps
    const { tenantId, month, force, correlationId } = job.data
    const jobId = job.id ?? 'unknown'
    // attemptsStarted also counts a run cut short by a crashed worker (a stalled job started again).
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1)
    const bindings = { queue: TENANT_QUEUE, jobId, tenantId, month, attempt, parentCorrelationId: job.data.parentCorrelationId }
    const log = logger.child({ ...bindings, correlationId })
    const libLog = logger.child({ ...bindings, component: 'question-insights' })

    // Progress is reported without blocking the analysis, in order, and only when it moved.
    let lastKey = ''
    let progressChain: Promise<unknown> = Promise.resolve()
    const report = (stage: string, percent: number) => {
      const p: TenantJobProgress = { tenantId, stage, percent: Math.max(0, Math.min(100, Math.floor(percent))) }
      const key = `${p.stage}:${p.percent}`
      if (key === lastKey) return
      lastKey = key
      progressChain = progressChain.then(() => job.updateProgress(p)).catch((err: unknown) => log.warn({ err }, 'progress update failed'))
    }

    if (!isMonth(month)) throw new UnrecoverableError(`invalid month ${JSON.stringify(month)}`)
    const interrupted = await this.repo.interruptRunsOfJob(jobId, tenantId, month)
    if (interrupted > 0) log.warn({ interrupted }, 'job picked up again after an interrupted run')

    const tenant = await this.repo.getTenant(tenantId)
    if (!tenant) throw new UnrecoverableError(`tenant ${tenantId} does not exist`)

    if (!force && (await this.repo.hasAnalysis(tenantId, month))) {
      const runId = await this.repo.recordSkipped({ tenantId, month, jobId, correlationId, reason: 'already analysed (use force to re-run)' })
      report('skipped', 100)
      await progressChain
      log.info({ runId }, 'tenant month already analysed: skipped')
      return { tenantId, month, status: 'skipped', runId }
    }

    const runId = await this.repo.startRun({ tenantId, month, jobId, correlationId, attempt, force })
    log.info({ runId, force }, 'tenant analysis started')
    report('ingest', 0)
    try {
      const settings = tenantAnalysisSettings(tenantId, tenant.settings)
      const a = config.analysis
      const llm = { ...config.llm }
      if (settings.llmModel !== undefined) llm.model = settings.llmModel
      const options: AnalyzeOptions = {
        batchSize: settings.batchSize ?? a.batchSize,
        threshold: settings.threshold ?? a.threshold,
        llm,
        correlationId,
        onLog: (line: LibraryLogLine) => {
          const fn = line.level === 'error' ? libLog.error : line.level === 'warn' ? libLog.warn : libLog.info
          // The library carries the correlation id itself; say so when a line comes without it.
          const cid = line.correlationId ? { correlationId: line.correlationId } : { correlationId, libraryCorrelationIdMissing: true }
          fn.call(libLog, { ...cid, stage: line.stage }, line.message)
        },
      }
      if (settings.skipSelfContained !== undefined) options.skipSelfContained = settings.skipSelfContained
      // Only when set: the library's defaults otherwise (a library from before asks has neither).
      const minAskers = settings.minAskers ?? a.minAskers
      if (minAskers !== undefined) options.minAskers = minAskers
      const questions = settings.questions ?? a.questions
      if (questions !== undefined) options.questions = questions

      const pages = monthMessagePages(db, tenantId, month, {
        pageSize: a.pageSize,
        delayMs: a.pageDelayMs,
        onPage: (p) => log.debug({ page: p.index, rows: p.rows, total: p.total }, 'message page read'),
      })
      const analysis = await this.deps.analyzeTenant({ tenantId, month, messages: pages, options }, (p: AnalyzeProgress) => {
        report(p.stage, p.stage === 'done' ? 99 : Math.min(99, p.percent))
      })

      report('store', 99)
      const stored = await this.repo.storeAnalysis(analysis, { runId, jobId, correlationId, force })
      report('done', 100)
      await progressChain
      log.info(
        { runId, messages: analysis.stats.messages, questions: analysis.stats.questions, clusters: stored.clusters, timingsMs: analysis.stats.timingsMs },
        'tenant analysis stored',
      )
      return { tenantId, month, status: 'completed', runId, messages: analysis.stats.messages, questions: stored.questions, clusters: stored.clusters }
    } catch (err) {
      await progressChain
      const reason = errorText(err)
      try {
        await this.repo.finishRun(runId, 'failed', reason)
      } catch (e) {
        log.error({ err: e }, 'could not record the failed run')
      }
      const final = err instanceof TenantSettingsError || err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
      log.error({ err, runId, willRetry: !final }, 'tenant analysis failed')
      // Bad tenant settings cannot be fixed by retrying.
      if (err instanceof TenantSettingsError) throw new UnrecoverableError(reason)
      throw err
    }
  }
}

export interface QuestionAnalysisWorker {
  monthWorker: Worker<MonthJobData, MonthJobResult>
  tenantWorker: Worker<TenantJobData, TenantJobResult>
  /** Waits for both workers to connect. */
  ready(): Promise<void>
  /** Stops taking jobs and waits for the running ones (force: do not wait). */
  close(force?: boolean): Promise<void>
}

/** Starts the month and tenant workers in this process. */
export function questionAnalysisWorker(deps: WorkerDeps): QuestionAnalysisWorker {
  const { config, connection, logger } = deps
  const common = {
    connection,
    prefix: config.queuePrefix,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
  }
  const months = new MonthProcessor(deps)
  const tenants = new TenantProcessor(deps)
  const monthWorker = new Worker<MonthJobData, MonthJobResult>(MONTH_QUEUE, (job, token) => months.process(job, token), {
    ...common,
    concurrency: config.worker.monthConcurrency,
  })
  const tenantWorker = new Worker<TenantJobData, TenantJobResult>(TENANT_QUEUE, (job) => tenants.process(job), {
    ...common,
    concurrency: config.worker.tenantConcurrency,
  })
  for (const [name, w] of [[MONTH_QUEUE, monthWorker], [TENANT_QUEUE, tenantWorker]] as const) {
    w.on('error', (err) => logger.error({ err, queue: name }, 'worker error'))
    w.on('stalled', (jobId) => logger.warn({ queue: name, jobId }, 'job stalled: its worker died or lost the lock; it will run again'))
    w.on('failed', (job, err) => {
      if (err instanceof WaitingChildrenError || err?.name === 'WaitingChildrenError') return
      logger.error({ queue: name, jobId: job?.id, tenantId: (job?.data as Partial<TenantJobData> | undefined)?.tenantId, attemptsMade: job?.attemptsMade, err }, 'job failed')
    })
  }
  return {
    monthWorker,
    tenantWorker,
    async ready() {
      await Promise.all([monthWorker.waitUntilReady(), tenantWorker.waitUntilReady()])
    },
    async close(force = false) {
      await Promise.all([monthWorker.close(force), tenantWorker.close(force)])
    },
  }
}
