/** Kysely migrations up, down and up again, in a schema of their own. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { sql } from 'kysely'
import { migrateDown, migrateToLatest, migrations } from '../src/db/migrate'
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

  // Down, one step at a time: the question tables go first, then the stand-in tables.
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0002_question_analysis'])
  assert.deepEqual(await tables(), ['messages', 'tenants'])
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema), ['Down 0001_tenants_messages'])
  assert.deepEqual(await tables(), [])

  await migrateToLatest(ctx.db, ctx.schema)
  assert.deepEqual(await tables(), TABLES)
  assert.deepEqual(await migrateDown(ctx.db, ctx.schema, { all: true }), ['Down 0002_question_analysis', 'Down 0001_tenants_messages'])
  assert.deepEqual(await tables(), [])
})
