import { type Migration, type MigrationResultSet, Migrator, NO_MIGRATIONS, sql } from 'kysely'
import type { Db } from './index'
import * as m0001 from './migrations/0001_tenants_messages'
import * as m0002 from './migrations/0002_question_analysis'
import * as m0003 from './migrations/0003_asks_and_answers'
import * as m0004 from './migrations/0004_message_authors'

/** Every migration, in order (bundled in code, so compiled and tsx runs see the same list). */
export const migrations: Record<string, Migration> = {
  '0001_tenants_messages': m0001,
  '0002_question_analysis': m0002,
  '0003_asks_and_answers': m0003,
  '0004_message_authors': m0004,
}

function migrator(db: Db, schema: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  })
}

function check(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')
    const err = result.error instanceof Error ? result.error : new Error(String(result.error))
    err.message = `migration ${failed?.migrationName ?? '?'} failed: ${err.message}`
    throw err
  }
  return (result.results ?? []).map((r) => `${r.direction} ${r.migrationName}`)
}

/** Creates the schema when needed and applies every pending migration. Returns what ran. */
export async function migrateToLatest(db: Db, schema: string): Promise<string[]> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db)
  return check(await migrator(db, schema).migrateToLatest())
}

/** Reverts the last migration (or all of them with `all`). Returns what ran. */
export async function migrateDown(db: Db, schema: string, { all = false } = {}): Promise<string[]> {
  const m = migrator(db, schema)
  return check(all ? await m.migrateTo(NO_MIGRATIONS) : await m.migrateDown())
}

/** Migrates up or down to the named migration (tests, and to pin a schema version). Returns what ran. */
export async function migrateTo(db: Db, schema: string, name: string): Promise<string[]> {
  if (!(name in migrations)) throw new RangeError(`unknown migration ${name}`)
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db)
  return check(await migrator(db, schema).migrateTo(name))
}
