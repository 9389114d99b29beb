// Types and loaders for a tenant's exported files.
//
// The types of questions.json are ../../../schema/questions.d.ts, written from
// questions.schema.json (the contract, format version 2) and questions.v1.schema.json (files
// written before asks were counted, still read); test/schema-contract.test.ts checks that the
// property names and required properties of the key lists below (checked against the types at
// compile time) match the schemas', so they cannot drift apart silently. A version 1 file is
// upgraded on load: what it lacks is null, which the page shows as unknown.

import type {
  BestAnswer,
  Cluster,
  ClusterV1,
  Month,
  MonthAnalysis,
  MonthAnalysisV1,
  MonthStats,
  QuestionsJson,
  QuestionsJsonV1,
  RoleCounts,
  StatsV1,
} from '../../../schema/questions'

export type { BestAnswer, Cluster, ClusterV1, Month, MonthAnalysis, MonthAnalysisV1, MonthStats, RoleCounts, StatsV1 }
/** questions.json: a tenant's question analysis, every analysed month (format version 2). */
export type QuestionAnalysisData = QuestionsJson
/** questions.json of format version 1 (before asks were counted). */
export type QuestionAnalysisDataV1 = QuestionsJsonV1

/** metadata.json: only `hasQuestionAnalysis` is required; other fields are shown when present. */
export interface TenantMetadata {
  hasQuestionAnalysis: boolean
  tenantId?: string
  name?: string
  [key: string]: unknown
}

// Property lists, used by the validator below and checked against the schemas by a test.
export const ROOT_KEYS = ['version', 'tenantId', 'generatedAt', 'months', 'analyses'] as const
export const ROOT_REQUIRED = ROOT_KEYS
export const ANALYSIS_KEYS_V1 = ['month', 'analyzedAt', 'stats', 'clusters'] as const
export const ANALYSIS_REQUIRED_V1 = ANALYSIS_KEYS_V1
export const ANALYSIS_KEYS = [...ANALYSIS_KEYS_V1, 'minorClusters'] as const
export const ANALYSIS_REQUIRED = ANALYSIS_KEYS
export const STATS_KEYS_V1 = ['messages', 'questions', 'clusters', 'unclustered', 'duplicates'] as const
export const STATS_REQUIRED_V1 = STATS_KEYS_V1
/** Counts of version 2 that may be null (unknown). */
export const STATS_COUNT_KEYS = ['asks', 'conversations', 'answered', 'resolved', 'notRequests', 'minorClusters'] as const
export const STATS_KEYS = [...STATS_KEYS_V1, ...STATS_COUNT_KEYS, 'roles'] as const
export const STATS_REQUIRED = STATS_KEYS
export const ROLE_KEYS = ['ask', 'clarification', 'backchannel', 'other'] as const
export const CLUSTER_KEYS_V1 = [
  'id',
  'title',
  'representative',
  'samples',
  'size',
  'questionCount',
  'keywords',
  'unansweredRate',
  'messageIds',
] as const
export const CLUSTER_REQUIRED_V1 = [
  'id',
  'size',
  'representative',
  'samples',
  'keywords',
  'unansweredRate',
  'questionCount',
  'messageIds',
] as const
export const CLUSTER_KEYS = [...CLUSTER_KEYS_V1, 'askers', 'resolvedRate', 'bestAnswer'] as const
export const CLUSTER_REQUIRED = CLUSTER_KEYS
export const BEST_ANSWER_KEYS = ['guildId', 'channelId', 'messageId', 'questionId', 'authorId', 'acknowledged'] as const

// Compile-time checks that the key lists and the interfaces agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const typeChecks: [
  Same<(typeof ROOT_KEYS)[number], keyof QuestionAnalysisData>,
  Same<(typeof ROOT_KEYS)[number], keyof QuestionAnalysisDataV1>,
  Same<(typeof ANALYSIS_KEYS)[number], keyof MonthAnalysis>,
  Same<(typeof ANALYSIS_KEYS_V1)[number], keyof MonthAnalysisV1>,
  Same<(typeof STATS_KEYS)[number], keyof MonthStats>,
  Same<(typeof STATS_KEYS_V1)[number], keyof StatsV1>,
  Same<(typeof ROLE_KEYS)[number], keyof RoleCounts>,
  Same<(typeof CLUSTER_KEYS)[number], keyof Cluster>,
  Same<(typeof CLUSTER_KEYS_V1)[number], keyof ClusterV1>,
  Same<(typeof BEST_ANSWER_KEYS)[number], keyof BestAnswer>,
] = [true, true, true, true, true, true, true, true, true, true]
void typeChecks

export const MONTH_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/

export type DataErrorKind = 'missing' | 'network' | 'malformed' | 'invalid'

/** A file could not be used; `message` is meant for the page. */
export class DataError extends Error {
  readonly kind: DataErrorKind
  readonly url: string
  constructor(kind: DataErrorKind, url: string, message: string) {
    super(message)
    this.name = 'DataError'
    this.kind = kind
    this.url = url
  }
}

export interface DataSource {
  /** Base URL of the data folder, e.g. "/data" or "data" (relative to the page). Default "data". */
  base?: string
  /** Tenant folder under `base`; empty: the files lie directly in `base`. */
  tenant?: string
  fetch?: typeof fetch
}

export function fileUrl(source: DataSource, file: string): string {
  const base = (source.base ?? 'data').replace(/\/+$/, '')
  const tenant = (source.tenant ?? '').replace(/^\/+|\/+$/g, '')
  const parts = [base, tenant ? encodeURIComponent(tenant) : '', file].filter((p) => p !== '')
  return parts.join('/')
}

async function fetchJson(source: DataSource, file: string): Promise<{ url: string; json: unknown }> {
  const url = fileUrl(source, file)
  const f = source.fetch ?? globalThis.fetch.bind(globalThis)
  let res: Response
  try {
    res = await f(url, { cache: 'no-store' })
  } catch (e) {
    throw new DataError('network', url, `Could not fetch ${file} from ${url}: ${(e as Error).message}`)
  }
  if (res.status === 404) throw new DataError('missing', url, `${file} was not found at ${url}.`)
  if (!res.ok) throw new DataError('network', url, `Could not fetch ${file} from ${url}: HTTP ${res.status}.`)
  const text = await res.text()
  if (text.trim() === '') throw new DataError('malformed', url, `${file} at ${url} is empty.`)
  try {
    return { url, json: JSON.parse(text) }
  } catch (e) {
    const looksHtml = /^\s*</.test(text)
    const detail = looksHtml ? 'the server returned HTML, not JSON' : (e as Error).message
    throw new DataError('malformed', url, `${file} at ${url} is not valid JSON (${detail}).`)
  }
}

// ---- validation -------------------------------------------------------------------------

type Problems = string[]
const MAX_PROBLEMS = 5

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkObject(
  v: unknown,
  path: string,
  keys: readonly string[],
  required: readonly string[],
  problems: Problems,
): v is Record<string, unknown> {
  if (!isObject(v)) {
    problems.push(`${path} must be an object`)
    return false
  }
  for (const k of required) if (!(k in v)) problems.push(`${path}.${k} is required`)
  for (const k of Object.keys(v)) if (!keys.includes(k)) problems.push(`${path}.${k} is not allowed`)
  return true
}

const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min
const isDateTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v))
const isStringArray = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string')

const isRate = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 1

/** What differs between the two format versions. */
interface Rules {
  version: 1 | 2
  analysisKeys: readonly string[]
  statsKeys: readonly string[]
  clusterKeys: readonly string[]
  clusterRequired: readonly string[]
}

const RULES: Record<1 | 2, Rules> = {
  1: { version: 1, analysisKeys: ANALYSIS_KEYS_V1, statsKeys: STATS_KEYS_V1, clusterKeys: CLUSTER_KEYS_V1, clusterRequired: CLUSTER_REQUIRED_V1 },
  2: { version: 2, analysisKeys: ANALYSIS_KEYS, statsKeys: STATS_KEYS, clusterKeys: CLUSTER_KEYS, clusterRequired: CLUSTER_REQUIRED },
}

function checkBestAnswer(b: unknown, path: string, p: Problems) {
  if (b === null) return
  if (!checkObject(b, path, BEST_ANSWER_KEYS, BEST_ANSWER_KEYS, p)) return
  for (const k of BEST_ANSWER_KEYS)
    if (k !== 'acknowledged' && k in b && (typeof b[k] !== 'string' || b[k] === '')) p.push(`${path}.${k} must be a non-empty string`)
  if ('acknowledged' in b && typeof b.acknowledged !== 'boolean') p.push(`${path}.acknowledged must be true or false`)
}

function checkCluster(c: unknown, path: string, r: Rules, p: Problems) {
  if (!checkObject(c, path, r.clusterKeys, r.clusterRequired, p)) return
  if ('id' in c && !isInt(c.id, 0)) p.push(`${path}.id must be an integer ≥ 0`)
  if ('title' in c && c.title !== null && typeof c.title !== 'string') p.push(`${path}.title must be a string or null`)
  if ('representative' in c && typeof c.representative !== 'string') p.push(`${path}.representative must be a string`)
  for (const k of ['samples', 'keywords', 'messageIds'] as const)
    if (k in c && !isStringArray(c[k])) p.push(`${path}.${k} must be an array of strings`)
  for (const k of ['size', 'questionCount'] as const) if (k in c && !isInt(c[k], 1)) p.push(`${path}.${k} must be an integer ≥ 1`)
  if ('unansweredRate' in c && !isRate(c.unansweredRate)) p.push(`${path}.unansweredRate must be a number from 0 to 1`)
  if (r.version === 1) return
  if ('askers' in c && c.askers !== null && !isInt(c.askers, 1)) p.push(`${path}.askers must be an integer ≥ 1 or null`)
  if ('resolvedRate' in c && c.resolvedRate !== null && !isRate(c.resolvedRate))
    p.push(`${path}.resolvedRate must be a number from 0 to 1 or null`)
  if ('bestAnswer' in c) checkBestAnswer(c.bestAnswer, `${path}.bestAnswer`, p)
}

function checkClusters(v: unknown, path: string, r: Rules, p: Problems) {
  if (!Array.isArray(v)) p.push(`${path} must be an array`)
  else for (let i = 0; i < v.length && p.length < MAX_PROBLEMS; i++) checkCluster(v[i], `${path}[${i}]`, r, p)
}

function checkStats(s: unknown, path: string, r: Rules, p: Problems) {
  if (!checkObject(s, path, r.statsKeys, r.statsKeys, p)) return
  for (const k of STATS_KEYS_V1) if (k in s && !isInt(s[k], 0)) p.push(`${path}.${k} must be an integer ≥ 0`)
  if (r.version === 1) return
  for (const k of STATS_COUNT_KEYS) if (k in s && s[k] !== null && !isInt(s[k], 0)) p.push(`${path}.${k} must be an integer ≥ 0 or null`)
  if ('roles' in s && s.roles !== null && checkObject(s.roles, `${path}.roles`, ROLE_KEYS, ROLE_KEYS, p))
    for (const k of ROLE_KEYS) if (k in s.roles && !isInt(s.roles[k], 0)) p.push(`${path}.roles.${k} must be an integer ≥ 0`)
}

function checkAnalysis(a: unknown, path: string, r: Rules, p: Problems) {
  if (!checkObject(a, path, r.analysisKeys, r.analysisKeys, p)) return
  if ('month' in a && (typeof a.month !== 'string' || !MONTH_RE.test(a.month))) p.push(`${path}.month must be YYYY-MM`)
  if ('analyzedAt' in a && !isDateTime(a.analyzedAt)) p.push(`${path}.analyzedAt must be a date-time`)
  if ('stats' in a) checkStats(a.stats, `${path}.stats`, r, p)
  if ('clusters' in a) checkClusters(a.clusters, `${path}.clusters`, r, p)
  if ('minorClusters' in a && r.version === 2) checkClusters(a.minorClusters, `${path}.minorClusters`, r, p)
}

/**
 * Problems of `v` as a questions.json of format version 2, or of version 1 (empty: valid).
 * Mirrors the schemas; stops after a few.
 */
export function validateQuestionAnalysis(v: unknown): string[] {
  const p: Problems = []
  if (!checkObject(v, 'questions.json', ROOT_KEYS, ROOT_REQUIRED, p)) return p
  const rules = v.version === 1 || v.version === 2 ? RULES[v.version] : null
  if ('version' in v && !rules) p.push(`questions.json.version must be 2 (or 1, the format before asks; got ${JSON.stringify(v.version)})`)
  if ('tenantId' in v && (typeof v.tenantId !== 'string' || v.tenantId === '')) p.push('questions.json.tenantId must be a non-empty string')
  if ('generatedAt' in v && !isDateTime(v.generatedAt)) p.push('questions.json.generatedAt must be a date-time')
  if ('months' in v) {
    if (!Array.isArray(v.months)) p.push('questions.json.months must be an array')
    else {
      v.months.forEach((m, i) => {
        if (typeof m !== 'string' || !MONTH_RE.test(m)) p.push(`questions.json.months[${i}] must be YYYY-MM`)
      })
      if (new Set(v.months).size !== v.months.length) p.push('questions.json.months must not repeat a month')
    }
  }
  if ('analyses' in v && rules) {
    if (!isObject(v.analyses)) p.push('questions.json.analyses must be an object')
    else
      for (const [month, a] of Object.entries(v.analyses)) {
        if (p.length >= MAX_PROBLEMS) break
        if (!MONTH_RE.test(month)) p.push(`questions.json.analyses has a key that is not YYYY-MM: ${JSON.stringify(month)}`)
        checkAnalysis(a, `questions.json.analyses["${month}"]`, rules, p)
      }
  }
  return p.slice(0, MAX_PROBLEMS)
}

/** A version 1 file in the current shape: what it lacks is null (unknown), and no minor clusters. */
export function upgradeV1(d: QuestionAnalysisDataV1): QuestionAnalysisData {
  const cluster = (c: ClusterV1): Cluster => ({ ...c, title: c.title ?? null, askers: null, resolvedRate: null, bestAnswer: null })
  const analyses: Record<Month, MonthAnalysis> = {}
  for (const [m, a] of Object.entries(d.analyses)) {
    const unknown = { asks: null, conversations: null, answered: null, resolved: null, notRequests: null, minorClusters: null, roles: null }
    analyses[m] = { ...a, stats: { ...a.stats, ...unknown }, clusters: a.clusters.map(cluster), minorClusters: [] }
  }
  return { ...d, version: 2, analyses }
}

export function validateMetadata(v: unknown): string[] {
  if (!isObject(v)) return ['metadata.json must be an object']
  if (typeof v.hasQuestionAnalysis !== 'boolean') return ['metadata.json.hasQuestionAnalysis must be true or false']
  return []
}

// ---- loaders -------------------------------------------------------------------------------

/** Fetches and validates a tenant's metadata.json. Throws DataError. */
export async function getTenantMetadata(source: DataSource = {}): Promise<TenantMetadata> {
  const { url, json } = await fetchJson(source, 'metadata.json')
  const problems = validateMetadata(json)
  if (problems.length) throw new DataError('invalid', url, `metadata.json at ${url} is not usable: ${problems.join('; ')}.`)
  return json as TenantMetadata
}

/**
 * Fetches and validates a tenant's questions.json (format version 2, or 1: upgraded, what it
 * lacks is null). Throws DataError.
 */
export async function getQuestionAnalysis(source: DataSource = {}): Promise<QuestionAnalysisData> {
  const { url, json } = await fetchJson(source, 'questions.json')
  const problems = validateQuestionAnalysis(json)
  if (problems.length)
    throw new DataError('invalid', url, `questions.json at ${url} does not match the schema: ${problems.join('; ')}.`)
  const data = json as QuestionAnalysisData | QuestionAnalysisDataV1
  return data.version === 1 ? upgradeV1(data) : data
}

/** Months that have an analysis, oldest first (months listed without an analysis are left out). */
export function availableMonths(data: QuestionAnalysisData): Month[] {
  const listed = data.months.filter((m) => data.analyses[m] !== undefined)
  const extra = Object.keys(data.analyses).filter((m) => !listed.includes(m))
  return [...listed, ...extra].sort()
}

/**
 * Clusters ranked by people, not by messages: distinct askers (unknown last), then size, then
 * lower id first; a copy, the data is left alone.
 */
export function sortedClusters(clusters: Cluster[]): Cluster[] {
  return [...clusters].sort((a, b) => (b.askers ?? -1) - (a.askers ?? -1) || b.size - a.size || a.id - b.id)
}

/** True when the month was analysed before asks were counted (askers, answers, roles unknown). */
export function askersUnknown(analysis: MonthAnalysis): boolean {
  return analysis.stats.asks === null
}

/** The title when there is one, else the representative question. */
export function clusterLabel(c: Cluster): string {
  const t = c.title?.trim()
  return t ? t : c.representative
}

export function formatMonth(m: Month, locale?: string): string {
  const [y, mm] = m.split('-').map(Number)
  return new Date(Date.UTC(y, mm - 1, 1)).toLocaleString(locale ?? 'en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' })
}
