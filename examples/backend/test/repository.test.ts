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

/** Rows of a tenant-month (question_clusters: the clusters and the minor clusters). */
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

  test('stores askers, answers, roles and minor clusters; ranks clusters by askers, then size', async () => {
    const month = '2024-04'
    const a = syntheticAnalysis('alpha', month, { clusters: 3 })
    // Cluster 2 gets the most askers while staying the smallest: it ranks first.
    a.clusters[2]!.askers = 9
    const stored = await ctx.repo.storeAnalysis(a)
    assert.deepEqual([stored.clusters, stored.minorClusters], [3, 1])

    const clusters = await ctx.repo.loadClusters('alpha', month)
    assert.deepEqual(clusters.map((c) => [c.cluster_id, c.askers, c.size]), [[2, 9, 2], [0, 3, 6], [1, 2, 4]])
    const c0 = clusters.find((c) => c.cluster_id === 0)!
    assert.equal(c0.minor, false)
    assert.equal(c0.resolved_rate, 1 / 3, 'stored as the library returned it (the export rounds)')
    assert.deepEqual([c0.answered, c0.resolved], [1, 1])
    assert.deepEqual(
      [c0.best_answer_question_id, c0.best_answer_message_id, c0.best_answer_channel_id, c0.best_answer_author_id, c0.best_answer_acknowledged],
      [a.clusters[0]!.memberQuestionIds[0], `${a.clusters[0]!.memberQuestionIds[0]}-answer`, 'c-general', 'helper', true],
    )
    const c2 = clusters.find((c) => c.cluster_id === 2)!
    assert.equal(c2.best_answer_message_id, null, 'no answer: no best answer')
    assert.equal(c2.best_answer_acknowledged, null)

    const minor = await ctx.repo.loadClusters('alpha', month, { minor: true })
    assert.deepEqual(minor.map((c) => [c.cluster_id, c.askers, c.minor]), [[3, 1, true]])

    const qs = await ctx.repo.loadQuestions('alpha', month)
    const answered = qs.find((q) => q.question_id === a.clusters[0]!.memberQuestionIds[0])!
    assert.deepEqual(
      [answered.role, answered.conversation_id, answered.resolved, answered.answer_message_id, answered.answer_channel_id, answered.answer_author_id, answered.answer_acknowledged, answered.not_request],
      ['ask', `${answered.question_id}-conv`, true, `${answered.question_id}-answer`, 'c-general', 'helper', true, false],
    )
    const unanswered = qs.find((q) => q.question_id === a.clusters[2]!.memberQuestionIds[0])!
    assert.deepEqual([unanswered.answer_message_id, unanswered.answer_acknowledged, unanswered.resolved], [null, null, false])
    const notRequest = qs.find((q) => q.question_id.endsWith('-notrequest'))!
    assert.deepEqual([notRequest.not_request, notRequest.role, notRequest.cluster_id], [true, 'other', null])
    assert.deepEqual((await ctx.repo.loadQuestions('alpha', month, 3)).map((q) => q.question_id), a.minorClusters![0]!.memberQuestionIds, 'a minor cluster\'s questions')

    const [run] = (await ctx.repo.listAnalyses('alpha')).filter((x) => x.month === month)
    assert.deepEqual(
      { roles: run!.stats.roles, asks: run!.stats.asks, conversations: run!.stats.conversations, answered: run!.stats.answered, resolved: run!.stats.resolved, notRequests: run!.stats.notRequests, minorClusters: run!.stats.minorClusters },
      { roles: a.stats.roles, asks: a.stats.asks, conversations: a.stats.conversations, answered: 2, resolved: 1, notRequests: 1, minorClusters: 1 },
    )
  })

  test('a library from before asks: stored with null askers, answers and roles, ranked by size', async () => {
    const month = '2024-02'
    const a = syntheticAnalysis('alpha', month, { legacy: true })
    assert.equal('askers' in a.clusters[0]!, false)
    await ctx.repo.storeAnalysis(a)
    const clusters = await ctx.repo.loadClusters('alpha', month)
    assert.deepEqual(clusters.map((c) => c.size), [6, 4, 2, 2])
    assert.ok(clusters.every((c) => c.askers === null && c.resolved_rate === null && c.best_answer_message_id === null && c.minor === false))
    assert.deepEqual(await ctx.repo.loadClusters('alpha', month, { minor: true }), [])
    const qs = await ctx.repo.loadQuestions('alpha', month)
    assert.ok(qs.every((q) => q.role === null && q.conversation_id === null && q.resolved === null && q.answer_message_id === null && q.not_request === null))
    const [run] = (await ctx.repo.listAnalyses('alpha')).filter((x) => x.month === month)
    assert.equal('asks' in run!.stats, false, 'counts it did not report are left out (unknown), not 0')
    assert.equal('roles' in run!.stats, false)
  })

  test('refuses an analysis whose cluster ids collide or whose values are out of the contract', async () => {
    const month = '2024-01'
    const collide = syntheticAnalysis('alpha', month)
    collide.minorClusters![0]!.id = 0
    await assert.rejects(ctx.repo.storeAnalysis(collide), /minor cluster 0: its id is not a unique non-negative integer/)
    const dangling = syntheticAnalysis('alpha', month)
    dangling.questions[0]!.clusterId = 42
    await assert.rejects(ctx.repo.storeAnalysis(dangling), /points at cluster 42/)
    const role = syntheticAnalysis('alpha', month)
    ;(role.questions[0] as { role: string }).role = 'rant'
    await assert.rejects(ctx.repo.storeAnalysis(role), /has role "rant"/)
    const rate = syntheticAnalysis('alpha', month)
    rate.clusters[0]!.resolvedRate = 1.5
    await assert.rejects(ctx.repo.storeAnalysis(rate), /check constraint/)
    assert.equal(await ctx.repo.hasAnalysis('alpha', month), false, 'nothing stored')
  })

  test('storing the same tenant-month again replaces the result (idempotent, no duplicates)', async () => {
    const month = '2024-07'
    const first = await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 4, tag: 'v1' }))
    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 4, tag: 'v1' }))
    assert.equal(await count('question_clusters', 'alpha', month), 4 + 1)
    const second = await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 2, tag: 'v2' }))
    assert.notEqual(second.runId, first.runId)
    assert.equal(await count('question_clusters', 'alpha', month), 2 + 1)
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
    assert.equal(await count('question_clusters', 'alpha', month), 3 + 1)
    const tags = new Set((await ctx.repo.loadQuestions('alpha', month)).map((q) => q.question_id.split('-')[3]))
    assert.equal(tags.size, 1, `one writer's result, got ${[...tags].join(',')}`)
  })

  test('a failing store leaves the earlier result untouched (one transaction)', async () => {
    const month = '2024-09'
    await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', month, { clusters: 2, tag: 'good' }))
    const bad = syntheticAnalysis('alpha', month, { clusters: 3, tag: 'bad' })
    bad.questions[1]!.confidence = 7 // violates the confidence check constraint, after the deletes ran
    await assert.rejects(ctx.repo.storeAnalysis(bad), /check constraint/)
    assert.equal(await count('question_clusters', 'alpha', month), 2 + 1)
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
    const bots: string[] = []
    let prev = ''
    for (let page = await next(); page; page = await next()) {
      for (const m of page) {
        assert.ok(m.id.startsWith('alpha-'), `alpha's pages hold only alpha's messages (${m.id})`)
        const key = `${m.timestamp}|${m.id}`
        assert.ok(key > prev, 'ordered by (created_at, id)')
        prev = key
        assert.ok(m.timestamp >= '2025-03-01T00:00:00.000Z' && m.timestamp < '2025-04-01T00:00:00.000Z')
        assert.equal('threadId' in m && m.threadId === undefined, false, 'absent thread ids are left out')
        if (m.authorIsBot) bots.push(m.id)
        else assert.equal('authorIsBot' in m, false, "a member's message carries no bot flag")
        seen.push(m.id)
      }
    }
    assert.deepEqual(pages, [50, 50, 20])
    const flagged = tenantMessages('alpha', month, { limit: 120 }).filter((m) => m.author_is_bot).map((m) => m.id)
    assert.ok(flagged.length > 0, 'the sample month has bots')
    assert.deepEqual(bots.sort(), flagged.sort(), "the bot flag comes through to the library's messages")
    assert.equal(seen.length, 120)
    assert.equal(new Set(seen).size, 120)
    assert.equal(await next(), null)
    const r = await sql<{ n: string }>`select count(*) as n from messages where tenant_id = 'alpha'`.execute(ctx.db)
    assert.equal(Number(r.rows[0]!.n), 122, 'the two edge messages exist but lie outside the month')
  })
})
