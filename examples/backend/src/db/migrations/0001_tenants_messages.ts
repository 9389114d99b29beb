/** Stand-ins for the existing backend's tables: tenants and their Discord messages. */
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // Fan-out lists the active tenants.
  await db.schema.createIndex('tenants_active_idx').on('tenants').column('id').where(sql.ref('active'), '=', true).execute()

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('author_id', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('thread_id', 'text')
    .addColumn('reply_to_id', 'text')
    .execute()
  // A tenant-month's messages in keyset pages: WHERE tenant_id = ? AND created_at in [start, end)
  // AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT 1000.
  await db.schema.createIndex('messages_tenant_created_id_idx').on('messages').columns(['tenant_id', 'created_at', 'id']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('messages').execute()
  await db.schema.dropTable('tenants').execute()
}
