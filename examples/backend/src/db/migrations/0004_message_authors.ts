/**
 * Who said a message, as the library reads it: the author's display name (`author_name`, for
 * "bob: try …" addressing) and whether the author is a bot or a webhook (`author_is_bot`,
 * Discord's `author.bot`). A bot's message (an auto-reply, a feed post, a welcome) is never
 * counted as a member's ask, nor as the answer to one.
 *
 * Rows stored before this migration keep a null name and `author_is_bot = false`, as they were
 * analysed before.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('messages')
    .addColumn('author_name', 'text')
    .addColumn('author_is_bot', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('author_is_bot').dropColumn('author_name').execute()
}
