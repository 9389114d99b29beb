/**
 * Test context against the real PostgreSQL and Redis of this machine: every context gets its own
 * Postgres schema (qi_test_<random>) and BullMQ prefix, dropped / deleted by cleanup().
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import IORedis, { type Redis } from 'ioredis'
import pg from 'pg'
import { type Config, loadConfig } from '../../src/config'
import { type Db, createDb } from '../../src/db/index'
import { migrateToLatest } from '../../src/db/migrate'
import { backendRoot } from '../../src/paths'
import { QuestionRepository } from '../../src/repository'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const ADMIN_TOKEN = 'test-admin-token-0123456789'
export const repoRoot = path.resolve(backendRoot, '..', '..')

let servicesChecked: Promise<void> | undefined

/** Fails with a clear message when PostgreSQL or Redis is not reachable. */
export function checkServices(): Promise<void> {
  servicesChecked ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 })
    try {
      await client.connect()
      await client.query('select 1')
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${(err as Error).message}). ` +
          'Start it (the repository\'s .ci/run does) or set TEST_DATABASE_URL.',
      )
    } finally {
      await client.end().catch(() => undefined)
    }
    const redis = new IORedis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on('error', () => undefined)
    try {
      await redis.connect()
      await redis.ping()
    } catch (err) {
      throw new Error(
        `Redis is not reachable at ${TEST_REDIS_URL} (${(err as Error).message}). ` +
          'Start it (the repository\'s .ci/run does) or set TEST_REDIS_URL.',
      )
    } finally {
      redis.disconnect()
    }
  })()
  return servicesChecked
}

export interface TestContext {
  id: string
  schema: string
  prefix: string
  /** Environment of this context for child processes (worker, API). */
  env: Record<string, string>
  config: Config
  db: Db
  repo: QuestionRepository
  redis: Redis
  cleanup(): Promise<void>
}

export async function createTestContext(opts: { migrate?: boolean; env?: Record<string, string> } = {}): Promise<TestContext> {
  await checkServices()
  const id = randomBytes(5).toString('hex')
  const schema = `qi_test_${id}`
  const prefix = `qi_test_${id}`
  const env: Record<string, string> = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    SCHEDULE_ENABLED: 'false',
    ...(process.env.QI_LIBRARY ? { QI_LIBRARY: process.env.QI_LIBRARY } : {}),
    ...opts.env,
  }
  const config = loadConfig(env)
  const db = createDb(config)
  const redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  if (opts.migrate !== false) await migrateToLatest(db, schema)
  return {
    id,
    schema,
    prefix,
    env,
    config,
    db,
    repo: new QuestionRepository(db),
    redis,
    async cleanup() {
      try {
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
        await admin.connect()
        try {
          await admin.query(`drop schema if exists "${schema}" cascade`)
        } finally {
          await admin.end()
        }
        let cursor = '0'
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
          cursor = next
          if (keys.length > 0) await redis.del(...keys)
        } while (cursor !== '0')
      } finally {
        await db.destroy().catch(() => undefined)
        redis.disconnect()
      }
    },
  }
}

/** Polls `fn` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
