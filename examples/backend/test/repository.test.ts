/** QuestionRepository: idempotent transactional store, months, clusters, tenant isolation. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { monthMessagePages } from '../src/messages'
import { syntheticAnalysis } from './support/analysis'
import { type TestContext, createTestContext } from './support/env'
import { insertMessages, insertTenant, outOfMonthMessages, tenantMessages } from './support/fixtures'

let ctx: TestContext
before(async () => {
  ctx = await createTestContext()
  for (const id of ['alpha', 'beta']) await insertTenant(ctx.db, { id })
})
after(async () => {
  await ctx?.cleanup()
})

async function count(table: 'question_clusters' | 'question_classifications', tenantId: string, month: string): Promise<number> {
  const r = await ctx.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('month', '=', month)
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

describe('QuestionRepository', () => {
  test('stores a tenant-month and reads it back; hasAnalysis and listMonths follow', async () => {
    assert.equal(await ctx.repo.hasAnalysis('alpha', '2024-05'), false)
    const a = syntheticAnalysis('alpha', '2024-05', { clusters: 3 })
    const stored = await ctx.repo.storeAnalysis(a, { jobId: 'j1', correlationId: 'c1' })
    assert.equal(stored.clusters, 3)
    assert.equal(stored.questions, a.questions.length)
    assert.equal(await ctx.repo.hasAnalysis('alpha', '2024-05'), true)
    assert.equal(await ctx.repo.hasAnalysis('alpha', '2024-06'), false)
    assert.equal(await ctx.repo.hasAnalysis('beta', '2024-05'), false)

    const clusters = await ctx.repo.loadClusters('alpha', '2024-05')
    assert.deepEqual(clusters.map((c) => c.size), [6, 4, 2])
    const c0 = clusters[0]!
    assert.equal(c0.question_count, 3)
    assert.deepEqual(c0.keywords, ['thing', 'topic0'])
    assert.equal(c0.title, 'Thing 0 (v1)')
    assert.equal(clusters[1]!.title, null)
    assert.deepEqual(c0.message_ids, a.clusters[0]!.messageIds)
    assert.equal(c0.run_id, stored.runId)

    const qs = await ctx.repo.loadQuestions('alpha', '2024-05')
    assert.equal(qs.length, a.questions.length)
    const lonely = qs.find((q) => q.question_id.endsWith('lonely'))!
    assert.equal(lonely.cluster_id, null, 'an unclustered question (clusterId left out) is stored with a null cluster')
    assert.deepEqual((await ctx.repo.loadQuestions('alpha', '2024-05', 0)).map((q) => q.question_id).sort(), [...a.clusters[0]!.memberQuestionIds].sort())
    const withContext = qs.find((q) => q.context_message_ids.length > 0)!
    assert.match(withContext.context_message_ids[0]!, /-ctx$/)

    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', '2024-03'))
    assert.deepEqual(await ctx.repo.listMonths('alpha'), ['2024-03', '2024-05'])
    assert.deepEqual(await ctx.repo.listMonths('beta'), [])
  })

  test('storing the same tenant-month again replaces the result (idempotent, no duplicates)', async () => {
    const month = '2024-07'
    const first = await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 4, tag: 'v1' }))
    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 4, tag: 'v1' }))
    assert.equal(await count('question_clusters', 'alpha', month), 4)
    const second = await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 2, tag: 'v2' }))
    assert.notEqual(second.runId, first.runId)
    assert.equal(await count('question_clusters', 'alpha', month), 2)
    const qs = await ctx.repo.loadQuestions('alpha', month)
    assert.equal(qs.length, syntheticAnalysis('alpha', month, { clusters: 2 }).questions.length)
    assert.ok(qs.every((q) => q.question_id.includes('-v2-')), 'only the latest result remains')
    assert.ok((await ctx.repo.loadClusters('alpha', month)).every((c) => c.run_id === second.runId))
    const analyses = (await ctx.repo.listAnalyses('alpha')).filter((x) => x.month === month)
    assert.equal(analyses.length, 1)
    assert.equal(analyses[0]!.runId, second.runId, 'the month reports the run its clusters came from')
  })

  test('concurrent stores of one tenant-month are serialised: one result, no duplicates', async () => {
    const month = '2024-08'
    await Promise.all([1, 2, 3, 4].map((i) => ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 3, tag: `p${i}` }))))
    assert.equal(await count('question_clusters', 'alpha', month), 3)
    const tags = new Set((await ctx.repo.loadQuestions('alpha', month)).map((q) => q.question_id.split('-')[3]))
    assert.equal(tags.size, 1, `one writer's result, got ${[...tags].join(',')}`)
  })

  test('a failing store leaves the earlier result untouched (one transaction)', async () => {
    const month = '2024-09'
    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 2, tag: 'good' }))
    const bad = syntheticAnalysis('alpha', month, { clusters: 3, tag: 'bad' })
    bad.questions[1]!.confidence = 7 // violates the confidence check constraint, after the deletes ran
    await assert.rejects(ctx.repo.storeAnalysis(bad), /check constraint/)
    assert.equal(await count('question_clusters', 'alpha', month), 2)
    assert.ok((await ctx.repo.loadQuestions('alpha', month)).every((q) => q.question_id.includes('-good-')))
    const wrongTenant = syntheticAnalysis('beta', month)
    await assert.rejects(ctx.repo.storeAnalysis({ ...wrongTenant, month: '2024-9' }), /invalid month/)
  })

  test('tenants never see each other\'s data', async () => {
    const month = '2024-10'
    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 3 }))
    await ctx.repo.storeAnalysis(syntheticAnalysis('beta', month, { clusters: 2 }))
    // Re-storing beta does not touch alpha's rows.
    await ctx.repo.storeAnalysis(syntheticAnalysis('beta', month, { clusters: 1, tag: 'v2' }))
    const a = await ctx.repo.loadClusters('alpha', month)
    const b = await ctx.repo.loadClusters('beta', month)
    assert.equal(a.length, 3)
    assert.equal(b.length, 1)
    assert.ok(a.every((c) => c.tenant_id === 'alpha' && c.message_ids.every((m) => m.startsWith('alpha-'))))
    assert.ok(b.every((c) => c.tenant_id === 'beta' && c.message_ids.every((m) => m.startsWith('beta-'))))
    assert.ok((await ctx.repo.loadQuestions('beta', month)).every((q) => q.question_id.startsWith('beta-')))
    assert.equal((await ctx.repo.listMonths('beta')).includes('2024-05'), false)
  })

  test('message pages: one tenant, one UTC month, keyset order, pages of the configured size', async () => {
    const month = '2025-03'
    await insertMessages(ctx.db, [
      ...tenantMessages('alpha', month, { limit: 120 }),
      ...outOfMonthMessages('alpha', month),
      ...tenantMessages('beta', month, { limit: 50 }),
    ])
    const pages: number[] = []
    const next = monthMessagePages(ctx.db, 'alpha', month, { pageSize: 50, onPage: (p) => pages.push(p.rows) })
    const seen: string[] = []
    let prev = ''
    for (let page = await next(); page; page = await next()) {
      for (const m of page) {
        assert.ok(m.id.startsWith('alpha-'), `alpha's pages hold only alpha's messages (${m.id})`)
        const key = `${m.timestamp}|${m.id}`
        assert.ok(key > prev, 'ordered by (created_at, id)')
        prev = key
        assert.ok(m.timestamp >= '2025-03-01T00:00:00.000Z' && m.timestamp < '2025-04-01T00:00:00.000Z')
        assert.equal('threadId' in m && m.threadId === undefined, false, 'absent thread ids are left out')
        seen.push(m.id)
      }
    }
    assert.deepEqual(pages, [50, 50, 20])
    assert.equal(seen.length, 120)
    assert.equal(new Set(seen).size, 120)
    assert.equal(await next(), null)
    const r = await sql<{ n: string }>`select count(*) as n from messages where tenant_id = 'alpha'`.execute(ctx.db)
    assert.equal(Number(r.rows[0]!.n), 122, 'the two edge messages exist but lie outside the month')
  })
})
