/**
 * A worker process is SIGKILLed while a tenant job is in progress; a new worker process picks the
 * stalled job up (BullMQ stalled-job recovery, short lock in this test), the month completes, and
 * no row is duplicated.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type MonthJobResult, type Queues, createQueues, enqueueMonthAnalysis, jobWithState } from '../src/queue'
import { type TestContext, createTestContext, waitFor } from './support/env'
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-llm'
import { insertMessages, insertTenant, tenantMessages } from './support/fixtures'
import { type WorkerProcess, spawnWorker } from './support/processes'

const MONTH = '2025-05'

let ctx: TestContext
let fake: FakeOpenAI
let queues: Queues
const workers: WorkerProcess[] = []

before(async () => {
  fake = await startFakeOpenAI({ delayMs: 300 })
  ctx = await createTestContext({
    env: {
      LLM_BASE_URL: fake.url,
      OPENROUTER_API_KEY: 'test-key',
      TENANT_CONCURRENCY: '2',
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '100',
      // Crash recovery within seconds instead of the default 30 s.
      JOB_LOCK_DURATION_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '1000',
      // Keeps the slow tenant's job in flight for a few seconds: 17 pages, 250 ms apart.
      MESSAGE_PAGE_SIZE: '25',
      MESSAGE_PAGE_DELAY_MS: '250',
    },
  })
  await insertTenant(ctx.db, { id: 'slow' })
  await insertTenant(ctx.db, { id: 'quick' })
  await insertMessages(ctx.db, [...tenantMessages('slow', MONTH), ...tenantMessages('quick', MONTH, { limit: 40 })])
  queues = createQueues(ctx.config, ctx.redis)
})

after(async () => {
  await Promise.all(workers.map((w) => w.stop()))
  if (process.env.QI_TEST_DUMP_LOGS) for (const w of workers) for (const l of w.lines) console.log(JSON.stringify(l))
  await queues?.close()
  await fake?.close()
  await ctx?.cleanup()
})

test('SIGKILL mid-run, restart: the month completes with no duplicate rows', async () => {
  const first = spawnWorker(ctx.env, 'worker-A')
  workers.push(first)
  await first.waitForLog('worker A ready', (l) => l.msg === 'worker ready')

  const job = await enqueueMonthAnalysis(queues, { month: MONTH, trigger: 'test' })

  // The slow tenant's analysis is running (its run row exists, pages are being read).
  const running = await waitFor('the slow tenant to start', async () => {
    const runs = await ctx.repo.listRuns('slow', MONTH)
    return runs.find((r) => r.status === 'running')
  }, 60_000, 50)
  await new Promise((r) => setTimeout(r, 1000))
  const runsAtKill = await ctx.repo.listRuns('slow', MONTH)
  assert.deepEqual(runsAtKill.map((r) => r.status), ['running'], 'killed mid-run, before anything was stored')
  assert.equal((await ctx.repo.loadClusters('slow', MONTH)).length, 0)
  const tenantJob = (await queues.tenantQueue.getActive()).find((j) => j.data.tenantId === 'slow')
  assert.ok(tenantJob, 'the slow tenant job is active')

  first.proc.kill('SIGKILL')
  const exit = await first.exited
  assert.equal(exit.signal, 'SIGKILL')

  const second = spawnWorker(ctx.env, 'worker-B')
  workers.push(second)
  await second.waitForLog('worker B ready', (l) => l.msg === 'worker ready')

  const result = await waitFor<MonthJobResult>('the month job to complete after the restart', async () => {
    const s = await jobWithState(queues.monthQueue, job.id!)
    if (s?.state === 'failed') throw new Error(`month job failed: ${s.job.failedReason}`)
    return s?.state === 'completed' ? s.job.returnvalue : undefined
  }, 120_000, 250)

  assert.deepEqual(result.completed, ['quick', 'slow'])
  assert.deepEqual(result.failed, [])

  // The killed attempt's run is marked interrupted by the worker that resumed the job.
  const runs = await ctx.repo.listRuns('slow', MONTH)
  assert.deepEqual(runs.map((r) => r.status), ['interrupted', 'completed'])
  assert.equal(runs[0]!.id, running.id)
  assert.equal(runs[0]!.job_id, runs[1]!.job_id, 'the same BullMQ job, started again')
  assert.equal(runs[1]!.attempt, 2)
  // (Log lines come through a pipe: wait for them, bounded, rather than race the Redis poll.)
  await second.waitForLog('worker B to report the interrupted run', (l) => l.msg === 'job picked up again after an interrupted run' && l.tenantId === 'slow', 10_000)
  await second.waitForLog('worker B to store the slow tenant', (l) => l.msg === 'tenant analysis stored' && l.tenantId === 'slow', 10_000)

  // Stored once: rows match the run's stats, nothing duplicated.
  const stats = runs[1]!.stats!
  assert.equal(stats.messages, tenantMessages('slow', MONTH).length)
  const clusters = await ctx.repo.loadClusters('slow', MONTH)
  assert.equal(clusters.length, stats.clusters)
  assert.equal(new Set(clusters.map((c) => c.cluster_id)).size, clusters.length)
  assert.ok(clusters.every((c) => c.run_id === runs[1]!.id))
  const questions = await ctx.repo.loadQuestions('slow', MONTH)
  assert.equal(new Set(questions.map((q) => q.question_id)).size, questions.length)
  // One stored question per distinct ask (duplicates fold into it), plus one per message the LLM
  // set apart as not a request.
  assert.equal(questions.length, stats.asks! - stats.duplicates + (stats.notRequests ?? 0))
  assert.deepEqual((await ctx.repo.listRuns('quick', MONTH)).filter((r) => r.status === 'completed').length, 1)
})
