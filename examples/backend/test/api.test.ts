/**
 * The admin endpoint: 401 without the token, 400 with the reason, 404, 202 with the job id, GET
 * state, and 409 "already running" for a tenant-month that is being analysed (one run each).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createLogger } from '../src/logger'
import { MONTH_JOB, TENANT_JOB, type Queues, createQueues, monthForJob, runningAnalysis, tenantJobId } from '../src/queue'
import { registerMonthlySchedule, removeMonthlySchedule } from '../src/scheduler'
import { buildServer, validateAnalyzeRequest } from '../src/server'
import { ADMIN_TOKEN, type TestContext, createTestContext } from './support/env'
import { insertTenant } from './support/fixtures'

const PATH = '/api/admin/analyze-questions'
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
const NOW = new Date('2025-02-10T12:00:00Z')

let ctx: TestContext
let queues: Queues
let app: FastifyInstance

before(async () => {
  ctx = await createTestContext()
  await insertTenant(ctx.db, { id: 'acme' })
  await insertTenant(ctx.db, { id: 'globex' })
  queues = createQueues(ctx.config, ctx.redis)
  app = buildServer({ adminToken: ADMIN_TOKEN, queues, repo: ctx.repo, logger: createLogger('silent'), now: () => NOW })
  await app.ready()
})
after(async () => {
  await app?.close()
  await queues?.close()
  await ctx?.cleanup()
})

describe('POST /api/admin/analyze-questions', () => {
  test('401 without a token or with a wrong one, and nothing is queued', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: ADMIN_TOKEN }, { authorization: `Basic ${ADMIN_TOKEN}` }]) {
      const res = await app.inject({ method: 'POST', url: PATH, headers, payload: { month: '2025-01' } })
      assert.equal(res.statusCode, 401, JSON.stringify(headers))
      assert.equal(res.json().error, 'unauthorized')
    }
    const get = await app.inject({ method: 'GET', url: `${PATH}/1` })
    assert.equal(get.statusCode, 401)
    assert.equal(await queues.monthQueue.count(), 0)
  })

  test('400 with the reason for invalid input', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ month: '2025-13' }, /month must be YYYY-MM/],
      [{ month: '2025-1' }, /month must be YYYY-MM/],
      [{ month: 202501 }, /month must be YYYY-MM/],
      [{ month: '2025-03' }, /month 2025-03 is in the future/],
      [{ tenantId: '' }, /tenantId must be/],
      [{ tenantId: '../etc' }, /tenantId must be/],
      [{ tenantId: 42 }, /tenantId must be/],
      [{ force: 'yes' }, /force must be a boolean/],
      [{ month: '2025-01', extra: 1 }, /unknown field\(s\): extra/],
      [[1, 2], /must be a JSON object/],
    ]
    for (const [payload, reason] of cases) {
      const res = await app.inject({ method: 'POST', url: PATH, headers: auth, payload: payload as object })
      assert.equal(res.statusCode, 400, JSON.stringify(payload))
      assert.match(res.json().message, reason, JSON.stringify(payload))
    }
    const malformed = await app.inject({ method: 'POST', url: PATH, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"month":' })
    assert.equal(malformed.statusCode, 400)
    assert.ok(malformed.json().message, 'malformed JSON says why')
    assert.equal(await queues.monthQueue.count(), 0)
  })

  test('404 for an unknown tenant', async () => {
    const res = await app.inject({ method: 'POST', url: PATH, headers: auth, payload: { tenantId: 'nobody' } })
    assert.equal(res.statusCode, 404)
    assert.match(res.json().message, /nobody does not exist/)
  })

  test('202 with the job id; GET returns its state and progress', async () => {
    const res = await app.inject({ method: 'POST', url: PATH, headers: auth, payload: { tenantId: 'acme', month: '2025-01', force: true } })
    assert.equal(res.statusCode, 202)
    const body = res.json()
    assert.equal(typeof body.jobId, 'string')
    assert.equal(body.month, '2025-01')
    assert.equal(body.tenantId, 'acme')
    assert.equal(body.force, true)
    const job = await queues.monthQueue.getJob(body.jobId)
    assert.ok(job)
    assert.equal(job.name, MONTH_JOB)
    assert.deepEqual(
      { month: job.data.month, tenantId: job.data.tenantId, force: job.data.force, trigger: job.data.trigger, correlationId: job.data.correlationId },
      { month: '2025-01', tenantId: 'acme', force: true, trigger: 'api', correlationId: body.correlationId },
    )

    const get = await app.inject({ method: 'GET', url: `${PATH}/${body.jobId}`, headers: auth })
    assert.equal(get.statusCode, 200)
    const status = get.json()
    assert.equal(status.jobId, body.jobId)
    assert.equal(status.state, 'waiting') // no worker in this test
    assert.deepEqual(status.progress, { percent: 0, job: 0 })
    assert.deepEqual(status.children, [])

    // Without a month: the month before now (UTC), as the scheduled run; defaults are explicit.
    const bare = await app.inject({ method: 'POST', url: PATH, headers: auth })
    assert.equal(bare.statusCode, 202, 'a run of one tenant does not cover every tenant')
    assert.deepEqual({ ...(bare.json() as object), correlationId: 0 }, { jobId: 'month-2025-01-all', correlationId: 0, month: '2025-01', tenantId: null, force: false })
    assert.equal(body.jobId, 'month-2025-01-tenant-acme', 'one job id per tenant and month')

    const missing = await app.inject({ method: 'GET', url: `${PATH}/does-not-exist`, headers: auth })
    assert.equal(missing.statusCode, 404)
  })

  test('409 already running: a second trigger of a tenant-month, concurrent triggers, a trigger during the scheduled run', async () => {
    const post = (payload: object) => app.inject({ method: 'POST', url: PATH, headers: auth, payload })
    // Two triggers at once: one job, the other is told it runs already.
    const both = await Promise.all([post({ tenantId: 'acme', month: '2024-12' }), post({ tenantId: 'acme', month: '2024-12' })])
    assert.deepEqual(both.map((r) => r.statusCode).sort(), [202, 409])
    const queued = both.find((r) => r.statusCode === 202)!.json()
    const refused = both.find((r) => r.statusCode === 409)!.json()
    assert.deepEqual(refused, {
      error: 'already_running',
      message: `the analysis of tenant acme for 2024-12 is already running (job ${queued.jobId})`,
      jobId: queued.jobId,
      month: '2024-12',
      tenantId: 'acme',
    })
    const again = await post({ tenantId: 'acme', month: '2024-12', force: true })
    assert.equal(again.statusCode, 409, 'force does not start a second run either')
    assert.equal((await queues.monthQueue.getJobs(['waiting'])).filter((j) => j.data.month === '2024-12').length, 1)

    // Every tenant for 2024-12 is a different run (it will skip acme's running job) ...
    const all = await post({ month: '2024-12' })
    assert.equal(all.statusCode, 202)
    // ... and covers every tenant of the month.
    const globex = await post({ tenantId: 'globex', month: '2024-12' })
    assert.equal(globex.statusCode, 409)
    assert.equal(globex.json().jobId, all.json().jobId)

    // The scheduled run of November (the job the scheduler adds on 1 December) covers every tenant.
    const cron = await queues.monthQueue.add(MONTH_JOB, { trigger: 'cron', step: 'fanout' }, { timestamp: Date.UTC(2024, 11, 1, 2) })
    assert.equal(monthForJob(cron), '2024-11')
    for (const payload of [{ month: '2024-11' }, { month: '2024-11', tenantId: 'acme' }]) {
      const r = await post(payload)
      assert.equal(r.statusCode, 409, JSON.stringify(payload))
      assert.equal(r.json().jobId, cron.id)
    }
    assert.equal((await post({ month: '2024-10' })).statusCode, 202, 'another month is not running')

    // A tenant's own job (e.g. fanned out by another month job) also counts.
    await queues.tenantQueue.add(TENANT_JOB, { tenantId: 'globex', month: '2024-09', force: false, correlationId: 'c', parentCorrelationId: 'p' }, { jobId: tenantJobId('globex', '2024-09') })
    const own = await post({ tenantId: 'globex', month: '2024-09' })
    assert.equal(own.statusCode, 409)
    assert.equal(own.json().jobId, 'tenant-globex-2024-09')
    assert.equal((await post({ tenantId: 'acme', month: '2024-09' })).statusCode, 202)

    // The scheduler's next job waits for its fire time: it is not running.
    await registerMonthlySchedule(queues.monthQueue, { cron: '0 2 1 * *', tz: 'UTC', enabled: true })
    const [next] = await queues.monthQueue.getJobs(['delayed'])
    assert.ok(next)
    assert.equal(await runningAnalysis(queues, monthForJob(next)), null)
    await removeMonthlySchedule(queues.monthQueue)
  })

  test('validateAnalyzeRequest accepts the current month and an empty body', () => {
    assert.deepEqual(validateAnalyzeRequest({ month: '2025-02' }, NOW), { ok: true, value: { month: '2025-02' } })
    assert.deepEqual(validateAnalyzeRequest(undefined, NOW), { ok: true, value: {} })
  })
})
