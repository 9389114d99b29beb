/**
 * Configuration from the environment. Every variable has a documented default (see README.md);
 * invalid values fail fast with a message naming the variable.
 */
import path from 'node:path'
import { backendRoot } from './paths'

export interface Config {
  /** DATABASE_URL — default postgres://postgres@127.0.0.1:5432/postgres */
  databaseUrl: string
  /** DATABASE_SCHEMA — Postgres schema (search_path) of every table, default `public`. */
  databaseSchema: string
  /** DATABASE_POOL_SIZE — default 5. */
  databasePoolSize: number
  /** REDIS_URL — default redis://127.0.0.1:6379 */
  redisUrl: string
  /** QUEUE_PREFIX — BullMQ key prefix, default `bull`. */
  queuePrefix: string
  llm: {
    /** OPENROUTER_API_KEY — without it the library keeps the original questions (no LLM rewrite). */
    apiKey?: string
    /** LLM_BASE_URL — any OpenAI-compatible server, default: the library's (OpenRouter). */
    baseUrl?: string
    /** LLM_MODEL — default: the library's (google/gemini-3.5-flash). */
    model?: string
    /** LLM_FALLBACK_MODELS — comma separated. */
    fallbackModels?: string[]
    /** LLM_TIMEOUT_MS, LLM_MAX_RETRIES, LLM_CONCURRENCY, LLM_REQUESTS_PER_MINUTE — library defaults when unset. */
    timeoutMs?: number
    maxRetries?: number
    concurrency?: number
    requestsPerMinute?: number
  }
  analysis: {
    /** ANALYSIS_BATCH_SIZE — messages per classification batch, default 1000. */
    batchSize: number
    /** QUESTION_THRESHOLD — P(question) at which a message is a question, default 0.7. */
    threshold: number
    /** MIN_ASKERS — clusters with fewer distinct askers are listed apart (minor), default: the library's (2). */
    minAskers?: number
    /** ANALYZE_QUESTIONS — `asks` (only asks are clustered) or `all`, default: the library's (asks). */
    questions?: 'asks' | 'all'
    /** MESSAGE_PAGE_SIZE — messages read from Postgres per page, default 1000. */
    pageSize: number
    /** MESSAGE_PAGE_DELAY_MS — pause between pages (throttles the database; tests use it), default 0. */
    pageDelayMs: number
  }
  worker: {
    /** TENANT_CONCURRENCY — tenant jobs one worker process runs at once, default 1. */
    tenantConcurrency: number
    /** MONTH_CONCURRENCY — month (fan-out) jobs one worker process runs at once, default 2. */
    monthConcurrency: number
    /** JOB_ATTEMPTS — attempts of a tenant job, default 3. */
    attempts: number
    /** JOB_BACKOFF_MS — first retry delay, doubled on every retry (exponential), default 30000. */
    backoffMs: number
    /** JOB_LOCK_DURATION_MS — BullMQ job lock, default 30000. */
    lockDurationMs: number
    /** JOB_STALLED_INTERVAL_MS — how often stalled (crashed-worker) jobs are looked for, default 30000. */
    stalledIntervalMs: number
    /** JOB_MAX_STALLED_COUNT — stalls before a job fails, default 2. */
    maxStalledCount: number
    /** KEEP_COMPLETED_JOBS / KEEP_FAILED_JOBS — finished jobs kept in Redis, default 1000 / 5000. */
    keepCompleted: number
    keepFailed: number
  }
  schedule: {
    /** SCHEDULE_ENABLED — the worker registers the monthly job scheduler, default true. */
    enabled: boolean
    /** SCHEDULE_CRON — default `0 2 1 * *` (1st of the month, 02:00). */
    cron: string
    /** SCHEDULE_TZ — default UTC. */
    tz: string
  }
  api: {
    /** ADMIN_TOKEN — required by the admin API (Authorization: Bearer <token>). */
    adminToken?: string
    /** API_HOST / API_PORT — default 127.0.0.1:3000. */
    host: string
    port: number
  }
  /** EXPORT_DIR — where <tenantId>/questions.json and metadata.json are written, default ./export. */
  exportDir: string
  /** QI_LIBRARY — module path of question-insights, default: the repository root (../..). */
  libraryPath: string
  /** LOG_LEVEL — pino level, default info. */
  logLevel: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function str(env: Env, key: string, def: string): string {
  const v = env[key]
  return v === undefined || v.trim() === '' ? def : v.trim()
}

function opt(env: Env, key: string): string | undefined {
  const v = env[key]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function num(env: Env, key: string, def: number, { min = -Infinity, max = Infinity, int = true } = {}): number {
  const raw = opt(env, key)
  if (raw === undefined) return def
  const v = Number(raw)
  if (!Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || v > max) {
    throw new ConfigError(`${key} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(raw)}`)
  }
  return v
}

function optNum(env: Env, key: string, min = 0): number | undefined {
  return opt(env, key) === undefined ? undefined : num(env, key, 0, { min })
}

function bool(env: Env, key: string, def: boolean): boolean {
  const raw = opt(env, key)
  if (raw === undefined) return def
  if (/^(1|true|yes|on)$/i.test(raw)) return true
  if (/^(0|false|no|off)$/i.test(raw)) return false
  throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(raw)}`)
}

export function loadConfig(env: Env = process.env): Config {
  const databaseSchema = str(env, 'DATABASE_SCHEMA', 'public')
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    throw new ConfigError(`DATABASE_SCHEMA must be a lower-case SQL identifier, got ${JSON.stringify(databaseSchema)}`)
  }
  const queuePrefix = str(env, 'QUEUE_PREFIX', 'bull')
  if (queuePrefix.includes(':')) throw new ConfigError('QUEUE_PREFIX cannot contain ":"')
  const fallback = opt(env, 'LLM_FALLBACK_MODELS')
  const llm: Config['llm'] = {}
  const set = <K extends keyof Config['llm']>(k: K, v: Config['llm'][K] | undefined) => {
    if (v !== undefined) llm[k] = v
  }
  set('apiKey', opt(env, 'OPENROUTER_API_KEY'))
  set('baseUrl', opt(env, 'LLM_BASE_URL'))
  set('model', opt(env, 'LLM_MODEL'))
  set('fallbackModels', fallback?.split(',').map((s) => s.trim()).filter(Boolean))
  set('timeoutMs', optNum(env, 'LLM_TIMEOUT_MS', 1))
  set('maxRetries', optNum(env, 'LLM_MAX_RETRIES'))
  set('concurrency', optNum(env, 'LLM_CONCURRENCY', 1))
  set('requestsPerMinute', optNum(env, 'LLM_REQUESTS_PER_MINUTE', 1))
  const questions = opt(env, 'ANALYZE_QUESTIONS')
  if (questions !== undefined && questions !== 'asks' && questions !== 'all') {
    throw new ConfigError(`ANALYZE_QUESTIONS must be asks or all, got ${JSON.stringify(questions)}`)
  }
  const minAskers = optNum(env, 'MIN_ASKERS', 1)

  return {
    databaseUrl: str(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres'),
    databaseSchema,
    databasePoolSize: num(env, 'DATABASE_POOL_SIZE', 5, { min: 1, max: 100 }),
    redisUrl: str(env, 'REDIS_URL', 'redis://127.0.0.1:6379'),
    queuePrefix,
    llm,
    analysis: {
      batchSize: num(env, 'ANALYSIS_BATCH_SIZE', 1000, { min: 1 }),
      threshold: num(env, 'QUESTION_THRESHOLD', 0.7, { min: 0, max: 1, int: false }),
      ...(minAskers !== undefined ? { minAskers } : {}),
      ...(questions !== undefined ? { questions } : {}),
      pageSize: num(env, 'MESSAGE_PAGE_SIZE', 1000, { min: 1, max: 100_000 }),
      pageDelayMs: num(env, 'MESSAGE_PAGE_DELAY_MS', 0, { min: 0 }),
    },
    worker: {
      tenantConcurrency: num(env, 'TENANT_CONCURRENCY', 1, { min: 1 }),
      monthConcurrency: num(env, 'MONTH_CONCURRENCY', 2, { min: 1 }),
      attempts: num(env, 'JOB_ATTEMPTS', 3, { min: 1 }),
      backoffMs: num(env, 'JOB_BACKOFF_MS', 30_000, { min: 0 }),
      lockDurationMs: num(env, 'JOB_LOCK_DURATION_MS', 30_000, { min: 100 }),
      stalledIntervalMs: num(env, 'JOB_STALLED_INTERVAL_MS', 30_000, { min: 100 }),
      maxStalledCount: num(env, 'JOB_MAX_STALLED_COUNT', 2, { min: 0 }),
      keepCompleted: num(env, 'KEEP_COMPLETED_JOBS', 1000, { min: 0 }),
      keepFailed: num(env, 'KEEP_FAILED_JOBS', 5000, { min: 0 }),
    },
    schedule: {
      enabled: bool(env, 'SCHEDULE_ENABLED', true),
      cron: str(env, 'SCHEDULE_CRON', '0 2 1 * *'),
      tz: str(env, 'SCHEDULE_TZ', 'UTC'),
    },
    api: {
      ...(opt(env, 'ADMIN_TOKEN') !== undefined ? { adminToken: opt(env, 'ADMIN_TOKEN') } : {}),
      host: str(env, 'API_HOST', '127.0.0.1'),
      port: num(env, 'API_PORT', 3000, { min: 0, max: 65535 }),
    },
    exportDir: path.resolve(str(env, 'EXPORT_DIR', 'export')),
    libraryPath: path.resolve(str(env, 'QI_LIBRARY', path.join(backendRoot, '..', '..'))),
    logLevel: str(env, 'LOG_LEVEL', 'info'),
  }
}
