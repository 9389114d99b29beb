import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Config } from '../config'
import type { Database } from './types'

export type Db = Kysely<Database>

/** A Kysely instance whose connections use `schema` as their search_path. */
export function createDb(config: Pick<Config, 'databaseUrl' | 'databaseSchema' | 'databasePoolSize'>): Db {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.databasePoolSize,
    // The schema is validated as a plain identifier in loadConfig.
    options: `-c search_path=${config.databaseSchema}`,
    connectionTimeoutMillis: 10_000,
    application_name: 'question-insights-backend',
  })
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
