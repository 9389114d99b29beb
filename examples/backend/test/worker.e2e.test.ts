/**
 * End to end through real worker processes: three tenants of a month (one made to fail by its
 * stored settings), the admin API to trigger and watch, the fake OpenAI-compatible LLM, then a
 * re-run (skipped, then forced: replaced, not duplicated) and the export.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type QuestionsExport, exportQuestionAnalysis, questionsValidator } from '../src/export'
import { createLogger } from '../src/logger'
import { type MonthJobResult, type Queues, createQueues } from '../src/queue'
import { buildServer } from '../src/server'
import { ADMIN_TOKEN, type TestContext, createTestContext, waitFor } from './support/env'
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-llm'
import { insertMessages, insertTenant, outOfMonthMessages, tenantMessages } from './support/fixtures'
import { type WorkerProcess, spawnWorker } from './support/processes'

const MONTH = '2025-03'
const PATH = '/api/admin/analyze-questions'
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }

let ctx: TestContext
let fake: FakeOpenAI
let queues: Queues
let app: FastifyInstance
let workers: WorkerProcess[] = []
let exportDir: string
let sampleSize = 0

interface JobStatus {
  state: string
  correlationId: string
  result: MonthJobResult | null
  children: Array<{ tenantId: string; state: string; progress: { tenantId: string; stage: string; percent: number } | null; jobId: string }>
  progress: { percent: number }
}

async function trigger(payload: object): Promise<string> {
  const res = await app.inject({ method: 'POST', url: PATH, headers: auth, payload })
  assert.equal(res.statusCode, 202, res.body)
  return (res.json() as { jobId: string }).jobId
}

async function finished(jobId: string, timeoutMs = 120_000): Promise<JobStatus> {
  return waitFor(`month job ${jobId} to finish`, async () => {
    const res = await app.inject({ method: 'GET', url: `${PATH}/${jobId}`, headers: auth })
    const s = res.json() as JobStatus
    if (s.state === 'failed') throw new Error(`month job failed: ${JSON.stringify(s)}`)
    return s.state === 'completed' ? s : undefined
  }, timeoutMs, 250)
}

async function clusterRows(tenantId: string) {
  return ctx.db.selectFrom('question_clusters').select(['id', 'cluster_id', 'run_id', 'size']).where('tenant_id', '=', tenantId).where('month', '=', MONTH).orderBy('cluster_id').execute()
}

before(async () => {
  fake = await startFakeOpenAI({ delayMs: 5 })
  ctx = await createTestContext({
    env: {
      LLM_BASE_URL: fake.url,
      OPENROUTER_API_KEY: 'test-key',
      LLM_MODEL: 'test/model',
      TENANT_CONCURRENCY: '1',
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '100',
    },
  })
  const acme = tenantMessages('acme', MONTH)
  sampleSize = acme.length
  await insertTenant(ctx.db, { id: 'acme', name: 'Acme' })
  await insertTenant(ctx.db, { id: 'globex', name: 'Globex' })
  // Its stored settings are invalid: the analysis fails through the real code path.
  await insertTenant(ctx.db, { id: 'broken', name: 'Broken', settings: { questionAnalysis: { threshold: 7 } } })
  await insertTenant(ctx.db, { id: 'dormant', name: 'Dormant', active: false })
  await insertMessages(ctx.db, [
    ...acme,
    ...outOfMonthMessages('acme', MONTH),
    ...tenantMessages('globex', MONTH, { limit: 250 }),
    ...tenantMessages('broken', MONTH, { limit: 100 }),
    ...tenantMessages('dormant', MONTH, { limit: 100 }),
  ])
  queues = createQueues(ctx.config, ctx.redis)
  app = buildServer({ adminToken: ADMIN_TOKEN, queues, repo: ctx.repo, logger: createLogger('silent') })
  await app.ready()
  exportDir = await fs.mkdtemp(path.join(os.tmpdir(), 'qi-e2e-'))
  // Two worker processes share the tenant jobs.
  workers = [spawnWorker(ctx.env, 'worker-1'), spawnWorker(ctx.env, 'worker-2')]
  await Promise.all(workers.map((w) => w.waitForLog('worker ready', (l) => l.msg === 'worker ready')))
})

after(async () => {
  await Promise.all(workers.map((w) => w.stop()))
  if (process.env.QI_TEST_DUMP_LOGS) for (const w of workers) for (const l of w.lines) console.log(JSON.stringify(l))
  await app?.close()
  await queues?.close()
  await fake?.close()
  if (exportDir) await fs.rm(exportDir, { recursive: true, force: true })
  await ctx?.cleanup()
})

describe('question analysis, end to end', () => {
  test('a three-tenant month: the failing tenant is recorded, the others are stored', async () => {
    const jobId = await trigger({ month: MONTH })
    const status = await finished(jobId)

    const result = status.result!
    assert.equal(result.month, MONTH)
    assert.equal(result.tenants, 3, 'the inactive tenant is not analysed')
    assert.deepEqual(result.completed, ['acme', 'globex'])
    assert.deepEqual(result.skipped, [])
    assert.equal(result.failed.length, 1)
    assert.equal(result.failed[0]!.tenantId, 'broken')
    assert.match(result.failed[0]!.error, /invalid settings\.questionAnalysis.*threshold/)

    // Progress: every child reported {tenantId, stage, percent}; the month is 100%.
    assert.equal(status.progress.percent, 100)
    const acmeChild = status.children.find((c) => c.tenantId === 'acme')!
    assert.equal(acmeChild.state, 'completed')
    assert.deepEqual(acmeChild.progress, { tenantId: 'acme', stage: 'done', percent: 100 })
    assert.equal(status.children.find((c) => c.tenantId === 'broken')!.state, 'failed')

    // Stored results.
    for (const tenantId of ['acme', 'globex']) {
      const runs = await ctx.repo.listRuns(tenantId, MONTH)
      assert.deepEqual(runs.map((r) => r.status), ['completed'], `${tenantId}: one completed run`)
      const run = runs[0]!
      const clusters = await ctx.repo.loadClusters(tenantId, MONTH)
      const questions = await ctx.repo.loadQuestions(tenantId, MONTH)
      assert.ok(clusters.length > 0, `${tenantId} has clusters`)
      assert.equal(clusters.length, run.stats!.clusters)
      assert.ok(clusters.every((c) => c.run_id === run.id))
      assert.ok(questions.length > 0)
      assert.ok(clusters.every((c) => c.message_ids.every((m) => m.startsWith(`${tenantId}-`))), `${tenantId} sees only its own messages`)
      assert.ok(questions.every((q) => q.message_ids.every((m) => m.startsWith(`${tenantId}-`))))
      assert.equal(run.correlation_id, `${status.correlationId}/${tenantId}`)
      assert.equal(run.attempt, 1)
    }
    const acmeRun = (await ctx.repo.listRuns('acme', MONTH))[0]!
    assert.equal(acmeRun.stats!.messages, sampleSize, 'only the month\'s messages (the edge messages are outside it)')
    assert.equal((await ctx.repo.listRuns('globex', MONTH))[0]!.stats!.messages, 250)
    assert.ok((await ctx.repo.loadQuestions('acme', MONTH)).some((q) => q.source === 'llm'), 'the fake LLM rewrote questions')
    assert.ok(fake.stats.requests > 0)
    assert.ok(fake.stats.bodies.some((b) => b?.model === 'test/model'), 'LLM_MODEL reaches the library')

    // The failing tenant: recorded in the runs table, nothing stored, logged with context.
    const brokenRuns = await ctx.repo.listRuns('broken', MONTH)
    assert.deepEqual(brokenRuns.map((r) => r.status), ['failed'], 'a settings error is not retried')
    assert.match(brokenRuns[0]!.error!, /TenantSettingsError: tenant broken: invalid settings\.questionAnalysis: \/threshold must be <= 1/)
    assert.ok(brokenRuns[0]!.finished_at)
    assert.equal((await ctx.repo.loadClusters('broken', MONTH)).length, 0)
    assert.equal(await ctx.repo.hasAnalysis('broken', MONTH), false)
    assert.deepEqual(await ctx.repo.listRuns('dormant'), [])

    // (Log lines come through pipes: wait for them, bounded, rather than race the job poll.)
    const failure = await waitFor('the failure to be logged', () =>
      workers.flatMap((w) => w.lines).find((l) => l.msg === 'tenant analysis failed' && l.tenantId === 'broken'), 10_000)
    await waitFor('acme\'s stored line', () => workers.some((w) => w.lines.some((l) => l.msg === 'tenant analysis stored' && l.tenantId === 'acme')), 10_000)
    const lines = workers.flatMap((w) => w.lines)
    // Each worker process takes one tenant job at a time (TENANT_CONCURRENCY=1), so the three
    // tenants were spread over both processes.
    const pids = new Set(lines.filter((l) => l.msg === 'tenant analysis started').map((l) => l.pid))
    assert.equal(pids.size, 2, 'both worker processes analysed tenants')
    assert.equal(failure.level, 'error')
    assert.equal(failure.month, MONTH)
    assert.equal(failure.correlationId, `${status.correlationId}/broken`)
    assert.match(JSON.stringify(failure.err), /threshold/)

    // The library's own log lines carry the job's correlation id (passed as correlationId/onLog).
    const libLines = lines.filter((l) => l.component === 'question-insights' && l.tenantId === 'acme')
    assert.ok(libLines.length > 0, 'library log lines reach the worker log')
    assert.ok(libLines.every((l) => l.correlationId === `${status.correlationId}/acme` && l.libraryCorrelationIdMissing === undefined))
  })

  test('re-running a month skips it, and with force replaces it (never duplicates)', async () => {
    const before = await clusterRows('acme')
    const globexBefore = await clusterRows('globex')
    const skipped = await finished(await trigger({ month: MONTH, tenantId: 'acme' }))
    assert.deepEqual(skipped.result!.skipped, ['acme'])
    assert.deepEqual(skipped.result!.completed, [])
    assert.deepEqual(await clusterRows('acme'), before, 'a skipped month is untouched')

    const forced = await finished(await trigger({ month: MONTH, tenantId: 'acme', force: true }))
    assert.deepEqual(forced.result!.completed, ['acme'])
    const after = await clusterRows('acme')
    assert.equal(after.length, before.length, 'same clusters, not twice as many')
    assert.deepEqual(after.map((c) => [c.cluster_id, c.size]), before.map((c) => [c.cluster_id, c.size]), 'same analysis of the same messages')
    const runs = await ctx.repo.listRuns('acme', MONTH)
    assert.deepEqual(runs.map((r) => r.status), ['completed', 'skipped', 'completed'])
    assert.equal(runs[2]!.force, true)
    assert.ok(after.every((c) => c.run_id === runs[2]!.id), 'the rows are the forced run\'s')
    const dupes = await ctx.db
      .selectFrom('question_classifications')
      .select(['question_id'])
      .where('tenant_id', '=', 'acme')
      .where('month', '=', MONTH)
      .groupBy('question_id')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute()
    assert.deepEqual(dupes, [])
    assert.deepEqual(await clusterRows('globex'), globexBefore, 'another tenant is untouched')
  })

  test('export: questions.json per tenant matches the schema; metadata.json says whether data exists', async () => {
    const validate = await questionsValidator()
    for (const tenantId of ['acme', 'globex']) {
      const r = await exportQuestionAnalysis(tenantId, { db: ctx.db, exportDir })
      assert.equal(r.hasQuestionAnalysis, true)
      const doc = JSON.parse(await fs.readFile(r.questionsPath!, 'utf8')) as QuestionsExport
      assert.equal(validate(doc), true, JSON.stringify(validate.errors))
      assert.deepEqual(doc.months, [MONTH])
      const clusters = doc.analyses[MONTH]!.clusters
      assert.ok(clusters.length > 0)
      // Ranked by distinct askers, then size (by size alone when the library does not count askers).
      const rank = (c: (typeof clusters)[number]) => [c.askers ?? -1, c.size] as const
      for (let i = 1; i < clusters.length; i++) {
        const [a, b] = [rank(clusters[i - 1]!), rank(clusters[i]!)]
        assert.ok(a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]), `ranked: ${JSON.stringify([a, b])}`)
      }
      assert.equal(doc.version, 2)
      assert.ok(clusters.every((c) => c.resolvedRate === null || (c.resolvedRate >= 0 && c.resolvedRate <= 1)))
      assert.ok(clusters.every((c) => Math.round(c.unansweredRate * 1e4) / 1e4 === c.unansweredRate), 'rates to 4 decimals')
      assert.ok(clusters.every((c) => c.messageIds.every((m) => m.startsWith(`${tenantId}-`))))
      assert.ok(clusters.every((c) => c.unansweredRate >= 0 && c.unansweredRate <= 1 && c.keywords.length > 0))
      assert.deepEqual(JSON.parse(await fs.readFile(r.metadataPath, 'utf8')), { hasQuestionAnalysis: true })
    }
    const broken = await exportQuestionAnalysis('broken', { db: ctx.db, exportDir })
    assert.equal(broken.hasQuestionAnalysis, false)
    assert.deepEqual(JSON.parse(await fs.readFile(broken.metadataPath, 'utf8')), { hasQuestionAnalysis: false })
  })
})
