/**
 * The admin API (Fastify):
 *   POST /api/admin/analyze-questions        {tenantId?, month?, force?}  → 202 {jobId, ...}
 *        (409 {error: 'already_running', jobId}: that tenant-month is being analysed already)
 *   GET  /api/admin/analyze-questions/:jobId                               → 200 {state, progress, ...}
 *   GET  /healthz
 * Admin routes need `Authorization: Bearer $ADMIN_TOKEN` (401 otherwise).
 */
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto'
import { Job } from 'bullmq'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from './logger'
import { compareMonths, isMonth, monthOf, previousMonth } from './month'
import { AlreadyRunningError, type Queues, enqueueMonthAnalysis, jobWithState, type TenantJobData, type TenantJobProgress } from './queue'
import type { QuestionRepository } from './repository'

export interface ServerDeps {
  adminToken: string
  queues: Pick<Queues, 'monthQueue' | 'tenantQueue' | 'redis' | 'prefix'>
  repo: QuestionRepository
  logger: Logger
  /** Current time (tests). */
  now?: () => Date
}

export interface AnalyzeRequest {
  tenantId?: string
  month?: string
  force?: boolean
}

const TENANT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Checks a trigger request body: the parsed request, or the reason it is rejected. */
export function validateAnalyzeRequest(body: unknown, now: Date): { ok: true; value: AnalyzeRequest } | { ok: false; reason: string } {
  if (body === undefined || body === null) return { ok: true, value: {} }
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'the body must be a JSON object' }
  const b = body as Record<string, unknown>
  const unknown = Object.keys(b).filter((k) => !['tenantId', 'month', 'force'].includes(k))
  if (unknown.length > 0) return { ok: false, reason: `unknown field(s): ${unknown.join(', ')}` }
  const value: AnalyzeRequest = {}
  if (b.tenantId !== undefined) {
    if (typeof b.tenantId !== 'string' || !TENANT_ID_RE.test(b.tenantId)) {
      return { ok: false, reason: 'tenantId must be a string of 1-128 letters, digits, "_", "-" or "."' }
    }
    value.tenantId = b.tenantId
  }
  if (b.month !== undefined) {
    if (!isMonth(b.month)) return { ok: false, reason: 'month must be YYYY-MM (e.g. 2024-05)' }
    if (compareMonths(b.month, monthOf(now)) > 0) return { ok: false, reason: `month ${b.month} is in the future` }
    value.month = b.month
  }
  if (b.force !== undefined) {
    if (typeof b.force !== 'boolean') return { ok: false, reason: 'force must be a boolean' }
    value.force = b.force
  }
  return { ok: true, value }
}

function tokenMatches(given: string, expected: string): boolean {
  // Compare digests: constant time, and no length leak.
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  if (!deps.adminToken) throw new Error('ADMIN_TOKEN is required by the admin API')
  const now = deps.now ?? (() => new Date())
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger, bodyLimit: 16 * 1024 })

  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? ''
    const m = /^Bearer\s+(.+)$/i.exec(header)
    if (!m?.[1] || !tokenMatches(m[1].trim(), deps.adminToken)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid admin token is required' })
    }
  }

  // Malformed JSON and wrong content types answer 400 with the reason (after the auth check).
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status >= 500) req.log.error({ err }, 'request failed')
    return reply.code(status).send({ error: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : err.message })
  })

  app.get('/healthz', async () => ({ ok: true }))

  app.register(async (admin) => {
    admin.addHook('onRequest', requireAdmin)

    admin.post('/api/admin/analyze-questions', async (req, reply) => {
      const v = validateAnalyzeRequest(req.body, now())
      if (!v.ok) return reply.code(400).send({ error: 'bad_request', message: v.reason })
      const { tenantId, force = false } = v.value
      if (tenantId !== undefined && !(await deps.repo.getTenant(tenantId))) {
        return reply.code(404).send({ error: 'not_found', message: `tenant ${tenantId} does not exist` })
      }
      // Without a month: the previous calendar month (UTC), as the scheduled run would analyse.
      const month = v.value.month ?? previousMonth(now())
      const correlationId = randomUUID()
      try {
        const job = await enqueueMonthAnalysis(deps.queues, {
          month,
          ...(tenantId !== undefined ? { tenantId } : {}),
          force,
          correlationId,
          trigger: 'api',
        })
        req.log.info({ jobId: job.id, correlationId, month, tenantId, force }, 'question analysis queued')
        return reply.code(202).send({ jobId: job.id, correlationId, month, tenantId: tenantId ?? null, force })
      } catch (err) {
        if (!(err instanceof AlreadyRunningError)) throw err
        req.log.info({ runningJobId: err.jobId, month, tenantId }, 'question analysis already running: not queued again')
        return reply
          .code(409)
          .send({ error: 'already_running', message: err.message, jobId: err.jobId, month, tenantId: tenantId ?? null })
      }
    })

    admin.get<{ Params: { jobId: string } }>('/api/admin/analyze-questions/:jobId', async (req, reply) => {
      const found = await jobWithState(deps.queues.monthQueue, req.params.jobId)
      if (!found) return reply.code(404).send({ error: 'not_found', message: `job ${req.params.jobId} not found` })
      const { job, state } = found
      const children = await Promise.all(
        (job.data.children ?? []).map(async (c) => {
          const child = await Job.fromId<TenantJobData>(deps.queues.tenantQueue, c.jobId)
          if (!child) return { tenantId: c.tenantId, jobId: c.jobId, state: 'removed', progress: null }
          return {
            tenantId: c.tenantId,
            jobId: c.jobId,
            state: await child.getState(),
            progress: (child.progress as TenantJobProgress | number) ?? null,
            attemptsMade: child.attemptsMade,
            failedReason: child.failedReason ?? null,
          }
        }),
      )
      const percents = children.map((c) => (c.state === 'completed' || c.state === 'failed' ? 100 : typeof c.progress === 'object' && c.progress ? c.progress.percent : 0))
      const percent = state === 'completed' ? 100 : percents.length ? Math.floor(percents.reduce((s, p) => s + p, 0) / percents.length) : 0
      return reply.send({
        jobId: job.id,
        name: job.name,
        state,
        month: job.data.month ?? null,
        tenantId: job.data.tenantId ?? null,
        force: job.data.force ?? false,
        correlationId: job.data.correlationId ?? null,
        progress: { percent, job: job.progress ?? null },
        children,
        result: job.returnvalue ?? null,
        failedReason: job.failedReason ?? null,
        attemptsMade: job.attemptsMade,
        createdAt: new Date(job.timestamp).toISOString(),
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      })
    })
  })

  return app
}
