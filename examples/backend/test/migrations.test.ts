/** Kysely migrations up, down and up again, in a schema of their own. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { sql } from 'kysely'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { migrateDown, migrateTo, migrateToLatest, migrations } from '../src/db/migrate'
import { type QuestionsExport, exportQuestionAnalysis, questionsValidator } from '../src/export'
import { type TestContext, createTestContext } from './support/env'

let ctx: TestContext
before(async () => {
  ctx = await createTestContext({ migrate: false })
})
after(async () => {
  await ctx?.cleanup()
})

const TABLES = ['messages', 'question_analysis_runs', 'question_classifications', 'question_clusters', 'tenants']

async function tables(): Promise<string[]> {
  const r = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = ${ctx.schema} and table_name not like 'kysely_%' order by table_name`.execute(ctx.db)
  return r.rows.map((x) => x.table_name)
}

async function columns(table: string, names: string[]): Promise<string[]> {
  const r = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = ${ctx.schema} and table_name = ${table} and column_name = any(${names}) order by column_name`.execute(ctx.db)
  return r.rows.map((x) => x.column_name)
}

async function indexes(): Promise<string[]> {
  const r = await sql<{ indexname: string }>`select indexname from pg_indexes where schemaname = ${ctx.schema} order by indexname`.execute(ctx.db)
  return r.rows.map((x) => x.indexname)
}

test('up creates every table, index and constraint; down removes them; up again works', async () => {
  assert.deepEqual(await tables(), [])
  const ran = await migrateToLatest(ctx.db, ctx.schema)
  assert.deepEqual(ran, Object.keys(migrations).map((m) => `Up ${m}`))
  assert.deepEqual(await migrateToLatest(ctx.db, ctx.schema), [], 'a second up has nothing to do')
  assert.deepEqual(await tables(), TABLES)
  const idx = await indexes()
  for (const name of [
    'messages_tenant_created_id_idx',
    'tenants_active_idx',
    'question_analysis_runs_tenant_month_idx',
    'question_analysis_runs_job_idx',
    'question_clusters_tenant_month_cluster_key',
    'question_classifications_tenant_month_question_key',
    'question_classifications_cluster_idx',
  ]) {
    assert.ok(idx.includes(name), `index ${name} exists (have ${idx.join(', ')})`)
  }

  // Array columns and constraints behave.
  await ctx.db.insertInto('tenants').values({ id: 't1', name: 'T1' }).execute()
  await assert.rejects(
    ctx.db.insertInto('question_analysis_runs').values({ tenant_id: 't1', month: '2024-13', status: 'running' }).execute(),
    /check constraint/,
  )
  await assert.rejects(
    ctx.db.insertInto('question_analysis_runs').values({ tenant_id: 't1', month: '2024-01', status: 'bogus' as 'running' }).execute(),
    /check constraint/,
  )

  // A best answer is all of its ids or none.
  await assert.rejects(
    sql`insert into question_clusters (tenant_id, month, cluster_id, size, question_count, representative, representative_question_id,
        samples, member_question_ids, message_ids, keywords, unanswered_rate, cohesion, best_answer_message_id)
        values ('t1', '2024-01', 0, 1, 1, 'q', 'q1', '{}', '{q1}', '{q1}', '{}', 0, 1, 'm1')`.execute(ctx.db),
    /question_clusters_best_answer_check/,
  )

  // Down, one step at a time: the message authors' columns, the asks columns, then the question
  // tables, then the stand-in tables.
  assert.deepEqual(await columns('messages', ['author_name', 'author_is_bot']), ['author_is_bot', 'author_name'])
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0004_message_authors'])
  assert.deepEqual(await columns('messages', ['author_name', 'author_is_bot']), [])
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0003_asks_and_answers'])
  assert.deepEqual(await tables(), TABLES)
  assert.deepEqual(await columns('question_clusters', ['askers', 'minor', 'best_answer_message_id']), [])
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0002_question_analysis'])
  assert.deepEqual(await tables(), ['messages', 'tenants'])
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0001_tenants_messages'])
  assert.deepEqual(await tables(), [])

  await migrateToLatest(ctx.db, ctx.schema)
  assert.deepEqual(await tables(), TABLES)
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema, { all: true }), [
    'Down 0004_message_authors',
    'Down 0003_asks_and_answers',
    'Down 0002_question_analysis',
    'Down 0001_tenants_messages',
  ])
  assert.deepEqual(await tables(), [])
})

test('rows stored before 0003 survive it and still export (askers, answers and roles unknown)', async () => {
  await migrateTo(ctx.db, ctx.schema, '0002_question_analysis')
  assert.deepEqual(await columns('question_clusters', ['askers']), [], 'the schema of before asks')
  // Rows as the backend wrote them before asks (raw SQL: the 0002 columns only).
  await sql`insert into tenants (id, name) values ('old', 'Old')`.execute(ctx.db)
  const stats = { messages: 50, questions: 4, extracted: 0, llmFallbacks: 0, skippedExtraction: 0, duplicates: 1, clusters: 2, unclustered: 1, rejected: 0, warnings: [], timingsMs: {}, peakRssBytes: 1 }
  const run = await sql<{ id: string }>`insert into question_analysis_runs (tenant_id, month, status, stats, finished_at)
    values ('old', '2024-10', 'completed', ${JSON.stringify(stats)}::jsonb, '2024-11-01T03:00:00Z') returning id`.execute(ctx.db)
  const runId = run.rows[0]!.id
  for (const [id, size, rate] of [[0, 3, 0.333333333], [1, 2, 0.5]] as const) {
    await sql`insert into question_clusters (tenant_id, month, run_id, cluster_id, size, question_count, representative,
        representative_question_id, samples, member_question_ids, message_ids, keywords, unanswered_rate, cohesion)
      values ('old', '2024-10', ${runId}, ${id}, ${size}, 1, ${`question ${id}?`}, ${`q${id}`}, ${[`question ${id}?`]},
        ${[`q${id}`]}, ${[`q${id}`, `q${id}-dup`]}, ${['old']}, ${rate}, 0.8)`.execute(ctx.db)
  }
  await sql`insert into question_classifications (tenant_id, month, run_id, question_id, message_ids, original, extracted, source,
      confidence, author_id, channel_id, asked_at, context_message_ids, answered, cluster_id)
    values ('old', '2024-10', ${runId}, 'q0', '{q0}', 'question 0?', 'question 0?', 'original', 0.9, 'u1', 'c1', '2024-10-02T10:00:00Z', '{}', false, 0)`.execute(ctx.db)

  assert.deepEqual(await migrateToLatest(ctx.db, ctx.schema), ['Up 0003_asks_and_answers', 'Up 0004_message_authors'])
  const clusters = await ctx.repo.loadClusters('old', '2024-10')
  assert.deepEqual(clusters.map((c) => [c.cluster_id, c.minor, c.askers, c.resolved_rate, c.best_answer_message_id]), [[0, false, null, null, null], [1, false, null, null, null]])
  const [q] = await ctx.repo.loadQuestions('old', '2024-10')
  assert.deepEqual([q!.role, q!.conversation_id, q!.resolved, q!.answer_message_id, q!.not_request], [null, null, null, null, null])

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qi-old-rows-'))
  try {
    const r = await exportQuestionAnalysis('old', { db: ctx.db, exportDir: dir })
    const doc = JSON.parse(await fs.readFile(r.questionsPath!, 'utf8')) as QuestionsExport
    const validate = await questionsValidator()
    assert.equal(validate(doc), true, JSON.stringify(validate.errors))
    const month = doc.analyses['2024-10']!
    assert.equal(month.analyzedAt, '2024-11-01T03:00:00.000Z')
    assert.deepEqual(
      month.clusters.map((c) => [c.id, c.size, c.askers, c.unansweredRate, c.resolvedRate, c.bestAnswer]),
      [[0, 3, null, 0.3333, null, null], [1, 2, null, 0.5, null, null]],
      'unknown where the rows have nothing; the old rate rounded to 4 decimals',
    )
    assert.deepEqual(month.minorClusters, [])
    assert.deepEqual(month.stats, {
      messages: 50, questions: 4, clusters: 2, unclustered: 1, duplicates: 1,
      asks: null, conversations: null, answered: null, resolved: null, notRequests: null, minorClusters: null, roles: null,
    })
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
})
