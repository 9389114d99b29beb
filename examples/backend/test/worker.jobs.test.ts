/**
 * The worker's jobs against real Postgres and Redis, in process, with a stand-in for the library
 * (it reads the pages, then returns a synthetic analysis) so that a test can hold a run open or
 * make an attempt fail:
 *  - one run per tenant and month: triggers during the scheduled run answer 409, a month job
 *    added around the API skips the running tenant, and a finished run can be started again;
 *  - transient failures (the library, then Postgres) are retried with backoff and then succeed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import type { AnalyzeTenant } from '../src/library'
import { createLogger } from '../src/logger'
import { MONTH_JOB, type MonthJobResult, type Queues, TENANT_QUEUE, createQueues, jobWithState, tenantJobId } from '../src/queue'
import { buildServer } from '../src/server'
import { type QuestionAnalysisWorker, questionAnalysisWorker } from '../src/worker'
import { syntheticAnalysis } from './support/analysis'
import { ADMIN_TOKEN, type TestContext, createTestContext, waitFor } from './support/env'
import { insertMessages, insertTenant, tenantMessages } from './support/fixtures'

const PATH = '/api/admin/analyze-questions'
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
const BACKOFF_MS = 200

let ctx: TestContext
let queues: Queues
let app: FastifyInstance
let worker: QuestionAnalysisWorker

/** Calls of the stand-in library, `tenant/month` per attempt, and what an attempt should do. */
const calls: string[] = []
const behaviour = new Map<string, (attempt: number) => Promise<void>>()

const library: AnalyzeTenant = async (input) => {
  let messages = 0
  for (let page = await input.messages(); page; page = await input.messages()) messages += page.length
  const key = `${input.tenantId}/${input.month}`
  calls.push(key)
  await behaviour.get(key)?.(calls.filter((c) => c === key).length)
  const a = syntheticAnalysis(input.tenantId, input.month)
  a.stats.messages = messages
  return a
}

function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

async function monthResult(jobId: string): Promise<MonthJobResult> {
  return waitFor(`month job ${jobId} to complete`, async () => {
    const s = await jobWithState(queues.monthQueue, jobId)
    if (s?.state === 'failed') throw new Error(`month job ${jobId} failed: ${s.job.failedReason}`)
    return s?.state === 'completed' ? s.job.returnvalue : undefined
  }, 60_000, 50)
}

const post = (payload: object) => app.inject({ method: 'POST', url: PATH, headers: auth, payload })
const runs = async (tenantId: string, month: string) => (await ctx.repo.listRuns(tenantId, month)).map((r) => r.status)

before(async () => {
  ctx = await createTestContext({ env: { JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: String(BACKOFF_MS), TENANT_CONCURRENCY: '2', MONTH_CONCURRENCY: '2' } })
  for (const id of ['acme', 'globex']) {
    await insertTenant(ctx.db, { id })
    for (const month of ['2025-01', '2025-03', '2025-05']) {
      const rows = tenantMessages(id, month, { limit: 20 }).map((m) => ({ ...m, id: `${m.id}-${month}`, thread_id: null, reply_to_id: null }))
      await insertMessages(ctx.db, rows)
    }
  }
  queues = createQueues(ctx.config, ctx.redis)
  app = buildServer({ adminToken: ADMIN_TOKEN, queues, repo: ctx.repo, logger: createLogger('silent'), now: () => new Date('2025-06-10T00:00:00Z') })
  await app.ready()
  worker = questionAnalysisWorker({ config: ctx.config, db: ctx.db, logger: createLogger('silent'), analyzeTenant: library, connection: ctx.redis, queues })
  await worker.ready()
})

after(async () => {
  await worker?.close(true)
  await app?.close()
  await queues?.close()
  await ctx?.cleanup()
})

describe('one run per tenant and month', () => {
  test('triggers during the scheduled run are refused with 409; a month job added around the API skips the running tenant', async () => {
    const month = '2025-01'
    const hold = gate()
    behaviour.set(`acme/${month}`, () => hold.opened)

    // The scheduled run of January: the job the monthly scheduler adds on 1 February.
    const cron = await queues.monthQueue.add(MONTH_JOB, { trigger: 'cron', step: 'fanout' }, { timestamp: Date.UTC(2025, 1, 1, 2) })
    await waitFor('acme\'s analysis to start', () => calls.includes(`acme/${month}`), 30_000, 20)

    for (const payload of [{ tenantId: 'acme', month }, { month }, { tenantId: 'acme', month, force: true }]) {
      const res = await post(payload)
      assert.equal(res.statusCode, 409, JSON.stringify(payload))
      assert.equal(res.json().error, 'already_running')
      assert.equal(res.json().jobId, cron.id, 'the scheduled run is the one running')
    }

    // Around the API (another process, a script): the tenant job is not added a second time.
    const bypass = await queues.monthQueue.add(MONTH_JOB, { month, tenantId: 'acme', force: true, trigger: 'test', step: 'fanout' }, { jobId: 'bypass' })
    const skipped = await monthResult(bypass.id!)
    assert.deepEqual(skipped.alreadyRunning, [{ tenantId: 'acme', jobId: tenantJobId('acme', month) }])
    assert.deepEqual([skipped.tenants, skipped.completed, skipped.failed], [0, [], []])

    hold.open()
    const done = await monthResult(cron.id!)
    assert.deepEqual(done.completed, ['acme', 'globex'])
    assert.deepEqual(done.alreadyRunning, [])
    assert.equal(calls.filter((c) => c === `acme/${month}`).length, 1, 'the library ran once for acme')
    assert.deepEqual(await runs('acme', month), ['completed'])

    // Finished: the month can be run again (the finished job's id is reused).
    const again = await post({ tenantId: 'acme', month, force: true })
    assert.equal(again.statusCode, 202, again.body)
    assert.deepEqual((await monthResult(again.json().jobId)).completed, ['acme'])
    assert.deepEqual(await runs('acme', month), ['completed', 'completed'])
    // Once more under the same month job id: its earlier job and child are replaced, not mistaken for its own.
    const third = await post({ tenantId: 'acme', month, force: true })
    assert.equal(third.json().jobId, again.json().jobId)
    assert.deepEqual((await monthResult(third.json().jobId)).completed, ['acme'])
    assert.deepEqual(await runs('acme', month), ['completed', 'completed', 'completed'])
    assert.equal(calls.filter((c) => c === `acme/${month}`).length, 3)
  })
})

describe('transient failures', () => {
  /** The tenant job's events, from its queue's event stream. */
  async function events(jobId: string): Promise<string[]> {
    const entries = await ctx.redis.xrange(`${ctx.prefix}:${TENANT_QUEUE}:events`, '-', '+')
    return entries
      .map(([, fields]) => Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : []))) as Record<string, string>)
      .filter((e) => e.jobId === jobId)
      .map((e) => e.event!)
  }

  test('the library fails once: the job is retried after its backoff and the month is stored', async () => {
    const month = '2025-03'
    behaviour.set(`acme/${month}`, async (attempt) => {
      if (attempt === 1) throw new Error('LLM provider unreachable: ECONNRESET (simulated)')
    })
    const res = await post({ tenantId: 'acme', month })
    assert.equal(res.statusCode, 202)
    const result = await monthResult(res.json().jobId)
    assert.deepEqual([result.completed, result.failed], [['acme'], []])

    const jobId = tenantJobId('acme', month)
    const job = (await queues.tenantQueue.getJob(jobId))!
    assert.deepEqual(job.opts.backoff, { type: 'exponential', delay: BACKOFF_MS })
    assert.equal(job.attemptsMade, 2)
    const ev = await events(jobId)
    assert.ok(ev.indexOf('delayed') > ev.indexOf('active') && ev.lastIndexOf('completed') > ev.indexOf('delayed'), `retried after a backoff: ${ev.join(', ')}`)

    const r = await ctx.repo.listRuns('acme', month)
    assert.deepEqual(r.map((x) => [x.status, x.attempt]), [['failed', 1], ['completed', 2]])
    assert.match(r[0]!.error!, /ECONNRESET \(simulated\)/)
    assert.equal(await ctx.repo.hasAnalysis('acme', month), true)
    assert.equal((await ctx.repo.loadClusters('acme', month)).length, 3)
  })

  test('Postgres fails once while storing: the transaction rolls back, the retry stores the month', async () => {
    const month = '2025-05'
    // The first insert of a cluster row fails like a deadlock would (a sequence is not rolled back).
    await sql`create sequence store_attempts`.execute(ctx.db)
    await sql`create function fail_first_store() returns trigger language plpgsql as $$
      begin
        if nextval('store_attempts') = 1 then raise exception 'deadlock detected (simulated)' using errcode = '40P01'; end if;
        return new;
      end $$`.execute(ctx.db)
    await sql`create trigger fail_first_store before insert on question_clusters for each row execute function fail_first_store()`.execute(ctx.db)
    try {
      const res = await post({ tenantId: 'globex', month })
      assert.equal(res.statusCode, 202)
      const result = await monthResult(res.json().jobId)
      assert.deepEqual([result.completed, result.failed], [['globex'], []])
      const r = await ctx.repo.listRuns('globex', month)
      assert.deepEqual(r.map((x) => [x.status, x.attempt]), [['failed', 1], ['completed', 2]])
      assert.match(r[0]!.error!, /deadlock detected \(simulated\)/)
      assert.ok((await events(tenantJobId('globex', month))).includes('delayed'), 'retried after a backoff')
      const clusters = await ctx.repo.loadClusters('globex', month)
      assert.equal(clusters.length, 3)
      assert.ok(clusters.every((c) => c.run_id === r[1]!.id), 'only the retry\'s rows')
    } finally {
      await sql`drop trigger fail_first_store on question_clusters`.execute(ctx.db)
    }
  })
})
