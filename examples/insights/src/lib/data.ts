// Types and loaders for a tenant's exported files.
//
// The types below are written from ../../../schema/questions.schema.json (the contract);
// test/schema-contract.test.ts checks that every object's property names and required
// properties here match the schema's, so the two cannot drift apart silently.

/** A month as written in questions.json: "YYYY-MM". */
export type Month = string

export interface ClusterStats {
  messages: number
  questions: number
  clusters: number
  unclustered: number
  duplicates: number
}

export interface Cluster {
  id: number
  /** A short title for the cluster, when the analysis produced one. */
  title?: string | null
  representative: string
  samples: string[]
  /** Messages in the cluster (duplicates count). */
  size: number
  /** Unique questions in the cluster. */
  questionCount: number
  keywords: string[]
  /** 0..1 */
  unansweredRate: number
  messageIds: string[]
}

export interface MonthAnalysis {
  month: Month
  analyzedAt: string
  stats: ClusterStats
  /** Sorted by size, largest first. */
  clusters: Cluster[]
}

/** questions.json: a tenant's question analysis, every analysed month. */
export interface QuestionAnalysisData {
  version: 1
  tenantId: string
  generatedAt: string
  /** Analysed months, oldest first. */
  months: Month[]
  /** One entry per month in `months`, keyed by month. */
  analyses: Record<Month, MonthAnalysis>
}

/** metadata.json: only `hasQuestionAnalysis` is required; other fields are shown when present. */
export interface TenantMetadata {
  hasQuestionAnalysis: boolean
  tenantId?: string
  name?: string
  [key: string]: unknown
}

// Property lists, used by the validator below and checked against the schema by a test.
export const ROOT_KEYS = ['version', 'tenantId', 'generatedAt', 'months', 'analyses'] as const
export const ROOT_REQUIRED = ROOT_KEYS
export const ANALYSIS_KEYS = ['month', 'analyzedAt', 'stats', 'clusters'] as const
export const ANALYSIS_REQUIRED = ANALYSIS_KEYS
export const STATS_KEYS = ['messages', 'questions', 'clusters', 'unclustered', 'duplicates'] as const
export const STATS_REQUIRED = STATS_KEYS
export const CLUSTER_KEYS = [
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
export const CLUSTER_REQUIRED = [
  'id',
  'size',
  'representative',
  'samples',
  'keywords',
  'unansweredRate',
  'questionCount',
  'messageIds',
] as const

// Compile-time checks that the key lists and the interfaces agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const typeChecks: [
  Same<(typeof ROOT_KEYS)[number], keyof QuestionAnalysisData>,
  Same<(typeof ANALYSIS_KEYS)[number], keyof MonthAnalysis>,
  Same<(typeof STATS_KEYS)[number], keyof ClusterStats>,
  Same<(typeof CLUSTER_KEYS)[number], keyof Cluster>,
] = [true, true, true, true]
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

function checkCluster(c: unknown, path: string, p: Problems) {
  if (!checkObject(c, path, CLUSTER_KEYS, CLUSTER_REQUIRED, p)) return
  if ('id' in c && !isInt(c.id, 0)) p.push(`${path}.id must be an integer ≥ 0`)
  if ('title' in c && c.title !== null && typeof c.title !== 'string') p.push(`${path}.title must be a string or null`)
  if ('representative' in c && typeof c.representative !== 'string') p.push(`${path}.representative must be a string`)
  for (const k of ['samples', 'keywords', 'messageIds'] as const)
    if (k in c && !isStringArray(c[k])) p.push(`${path}.${k} must be an array of strings`)
  for (const k of ['size', 'questionCount'] as const) if (k in c && !isInt(c[k], 1)) p.push(`${path}.${k} must be an integer ≥ 1`)
  if ('unansweredRate' in c) {
    const r = c.unansweredRate
    if (typeof r !== 'number' || !(r >= 0 && r <= 1)) p.push(`${path}.unansweredRate must be a number from 0 to 1`)
  }
}

function checkAnalysis(a: unknown, path: string, p: Problems) {
  if (!checkObject(a, path, ANALYSIS_KEYS, ANALYSIS_REQUIRED, p)) return
  if ('month' in a && (typeof a.month !== 'string' || !MONTH_RE.test(a.month))) p.push(`${path}.month must be YYYY-MM`)
  if ('analyzedAt' in a && !isDateTime(a.analyzedAt)) p.push(`${path}.analyzedAt must be a date-time`)
  if ('stats' in a && checkObject(a.stats, `${path}.stats`, STATS_KEYS, STATS_REQUIRED, p)) {
    for (const k of STATS_KEYS) if (k in a.stats && !isInt(a.stats[k], 0)) p.push(`${path}.stats.${k} must be an integer ≥ 0`)
  }
  if ('clusters' in a) {
    if (!Array.isArray(a.clusters)) p.push(`${path}.clusters must be an array`)
    else
      for (let i = 0; i < a.clusters.length && p.length < MAX_PROBLEMS; i++) checkCluster(a.clusters[i], `${path}.clusters[${i}]`, p)
  }
}

/** Problems of `v` as a questions.json (empty: valid). Mirrors the schema; stops after a few. */
export function validateQuestionAnalysis(v: unknown): string[] {
  const p: Problems = []
  if (!checkObject(v, 'questions.json', ROOT_KEYS, ROOT_REQUIRED, p)) return p
  if ('version' in v && v.version !== 1) p.push(`questions.json.version must be 1 (got ${JSON.stringify(v.version)})`)
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
  if ('analyses' in v) {
    if (!isObject(v.analyses)) p.push('questions.json.analyses must be an object')
    else
      for (const [month, a] of Object.entries(v.analyses)) {
        if (p.length >= MAX_PROBLEMS) break
        if (!MONTH_RE.test(month)) p.push(`questions.json.analyses has a key that is not YYYY-MM: ${JSON.stringify(month)}`)
        checkAnalysis(a, `questions.json.analyses["${month}"]`, p)
      }
  }
  return p.slice(0, MAX_PROBLEMS)
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

/** Fetches and validates a tenant's questions.json. Throws DataError. */
export async function getQuestionAnalysis(source: DataSource = {}): Promise<QuestionAnalysisData> {
  const { url, json } = await fetchJson(source, 'questions.json')
  const problems = validateQuestionAnalysis(json)
  if (problems.length)
    throw new DataError('invalid', url, `questions.json at ${url} does not match the schema: ${problems.join('; ')}.`)
  return json as QuestionAnalysisData
}

/** Months that have an analysis, oldest first (months listed without an analysis are left out). */
export function availableMonths(data: QuestionAnalysisData): Month[] {
  const listed = data.months.filter((m) => data.analyses[m] !== undefined)
  const extra = Object.keys(data.analyses).filter((m) => !listed.includes(m))
  return [...listed, ...extra].sort()
}

/** Clusters of a month, largest first (ties: lower id first); a copy, the data is left alone. */
export function sortedClusters(analysis: MonthAnalysis): Cluster[] {
  return [...analysis.clusters].sort((a, b) => b.size - a.size || a.id - b.id)
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
