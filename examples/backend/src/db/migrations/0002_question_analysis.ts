/** The question analysis: runs, clusters and extracted questions per tenant and month. */
import { type Kysely, sql } from 'kysely'

const MONTH_CHECK = sql`month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'`

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('question_analysis_runs')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('month', 'text', (c) => c.notNull().check(MONTH_CHECK))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('running', 'completed', 'failed', 'skipped', 'interrupted')`),
    )
    .addColumn('force', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('job_id', 'text')
    .addColumn('correlation_id', 'text')
    .addColumn('attempt', 'integer')
    .addColumn('stats', 'jsonb')
    .addColumn('error', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute()
  // hasAnalysis / list months / the latest completed run of a month.
  await db.schema
    .createIndex('question_analysis_runs_tenant_month_idx')
    .on('question_analysis_runs')
    .columns(['tenant_id', 'month', 'status', 'finished_at desc'])
    .execute()
  // Runs of a job (a restarted job marks its interrupted predecessors).
  await db.schema.createIndex('question_analysis_runs_job_idx').on('question_analysis_runs').column('job_id').execute()

  await db.schema
    .createTable('question_clusters')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('month', 'text', (c) => c.notNull().check(MONTH_CHECK))
    .addColumn('run_id', 'bigint', (c) => c.references('question_analysis_runs.id').onDelete('set null'))
    .addColumn('cluster_id', 'integer', (c) => c.notNull().check(sql`cluster_id >= 0`))
    .addColumn('size', 'integer', (c) => c.notNull().check(sql`size >= 1`))
    .addColumn('question_count', 'integer', (c) => c.notNull().check(sql`question_count >= 1`))
    .addColumn('representative', 'text', (c) => c.notNull())
    .addColumn('representative_question_id', 'text', (c) => c.notNull())
    .addColumn('samples', sql`text[]`, (c) => c.notNull())
    .addColumn('member_question_ids', sql`text[]`, (c) => c.notNull())
    .addColumn('message_ids', sql`text[]`, (c) => c.notNull())
    .addColumn('keywords', sql`text[]`, (c) => c.notNull())
    .addColumn('title', 'text')
    .addColumn('unanswered_rate', 'double precision', (c) =>
      c.notNull().check(sql`unanswered_rate >= 0 and unanswered_rate <= 1`),
    )
    .addColumn('cohesion', 'double precision', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // One row per cluster of a tenant-month: a retried job can never duplicate; also serves
    // "load a month's clusters" (WHERE tenant_id = ? AND month = ?).
    .addUniqueConstraint('question_clusters_tenant_month_cluster_key', ['tenant_id', 'month', 'cluster_id'])
    .execute()

  await db.schema
    .createTable('question_classifications')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('month', 'text', (c) => c.notNull().check(MONTH_CHECK))
    .addColumn('run_id', 'bigint', (c) => c.references('question_analysis_runs.id').onDelete('set null'))
    .addColumn('question_id', 'text', (c) => c.notNull())
    .addColumn('message_ids', sql`text[]`, (c) => c.notNull())
    .addColumn('original', 'text', (c) => c.notNull())
    .addColumn('extracted', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('llm', 'original')`))
    .addColumn('confidence', 'double precision', (c) => c.notNull().check(sql`confidence >= 0 and confidence <= 1`))
    .addColumn('author_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('asked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('context_message_ids', sql`text[]`, (c) => c.notNull())
    .addColumn('answered', 'boolean', (c) => c.notNull())
    .addColumn('cluster_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('question_classifications_tenant_month_question_key', ['tenant_id', 'month', 'question_id'])
    .execute()
  // A cluster's questions.
  await db.schema
    .createIndex('question_classifications_cluster_idx')
    .on('question_classifications')
    .columns(['tenant_id', 'month', 'cluster_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('question_classifications').execute()
  await db.schema.dropTable('question_clusters').execute()
  await db.schema.dropTable('question_analysis_runs').execute()
}
