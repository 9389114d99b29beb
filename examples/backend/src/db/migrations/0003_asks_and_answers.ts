/**
 * Asks, askers and answers (question-insights' analyzeTenant since asks): per cluster its
 * distinct askers, resolved rate, answer counts, best answer and whether it is a minor cluster;
 * per question its role, conversation, resolution, answer and whether the LLM said it is not a
 * request. The run's new counts (roles, asks, conversations, answered, resolved, notRequests,
 * minorClusters) live in question_analysis_runs.stats (jsonb) and need no column.
 *
 * Every new column is nullable (minor defaults to false): rows stored before this migration keep
 * null, which the export writes as unknown.
 */
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('question_clusters')
    .addColumn('minor', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('askers', 'integer', (c) => c.check(sql`askers >= 1`))
    .addColumn('resolved_rate', 'double precision', (c) => c.check(sql`resolved_rate >= 0 and resolved_rate <= 1`))
    .addColumn('answered', 'integer', (c) => c.check(sql`answered >= 0`))
    .addColumn('resolved', 'integer', (c) => c.check(sql`resolved >= 0`))
    .addColumn('best_answer_question_id', 'text')
    .addColumn('best_answer_message_id', 'text')
    .addColumn('best_answer_channel_id', 'text')
    .addColumn('best_answer_author_id', 'text')
    .addColumn('best_answer_acknowledged', 'boolean')
    .execute()
  // A best answer is all of its ids or none of them.
  await db.schema
    .alterTable('question_clusters')
    .addCheckConstraint(
      'question_clusters_best_answer_check',
      sql`num_nulls(best_answer_question_id, best_answer_message_id, best_answer_channel_id, best_answer_author_id, best_answer_acknowledged) in (0, 5)`,
    )
    .execute()

  await db.schema
    .alterTable('question_classifications')
    .addColumn('role', 'text', (c) => c.check(sql`role in ('ask', 'clarification', 'backchannel', 'other')`))
    .addColumn('conversation_id', 'text')
    .addColumn('resolved', 'boolean')
    .addColumn('answer_message_id', 'text')
    .addColumn('answer_channel_id', 'text')
    .addColumn('answer_author_id', 'text')
    .addColumn('answer_acknowledged', 'boolean')
    .addColumn('not_request', 'boolean')
    .execute()
  await db.schema
    .alterTable('question_classifications')
    .addCheckConstraint(
      'question_classifications_answer_check',
      sql`num_nulls(answer_message_id, answer_channel_id, answer_author_id, answer_acknowledged) in (0, 4)`,
    )
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('question_classifications')
    .dropConstraint('question_classifications_answer_check')
    .execute()
  await db.schema
    .alterTable('question_classifications')
    .dropColumn('role')
    .dropColumn('conversation_id')
    .dropColumn('resolved')
    .dropColumn('answer_message_id')
    .dropColumn('answer_channel_id')
    .dropColumn('answer_author_id')
    .dropColumn('answer_acknowledged')
    .dropColumn('not_request')
    .execute()
  await db.schema.alterTable('question_clusters').dropConstraint('question_clusters_best_answer_check').execute()
  await db.schema
    .alterTable('question_clusters')
    .dropColumn('minor')
    .dropColumn('askers')
    .dropColumn('resolved_rate')
    .dropColumn('answered')
    .dropColumn('resolved')
    .dropColumn('best_answer_question_id')
    .dropColumn('best_answer_message_id')
    .dropColumn('best_answer_channel_id')
    .dropColumn('best_answer_author_id')
    .dropColumn('best_answer_acknowledged')
    .execute()
}
