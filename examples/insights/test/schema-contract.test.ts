// @vitest-environment node
// Fixtures, types and the runtime validator against the schema (the contract).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import {
  ANALYSIS_KEYS,
  ANALYSIS_KEYS_V1,
  ANALYSIS_REQUIRED,
  ANALYSIS_REQUIRED_V1,
  BEST_ANSWER_KEYS,
  CLUSTER_KEYS,
  CLUSTER_KEYS_V1,
  CLUSTER_REQUIRED,
  CLUSTER_REQUIRED_V1,
  ROLE_KEYS,
  ROOT_KEYS,
  ROOT_REQUIRED,
  STATS_KEYS,
  STATS_KEYS_V1,
  STATS_REQUIRED,
  STATS_REQUIRED_V1,
  validateQuestionAnalysis,
} from '../src/lib/data'
import { LONG_QUESTION_5000, emptyData, largeData, monthlyData, tenants, toV1 } from './fixtures'

const load = (file: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../schema/${file}`, import.meta.url)), 'utf8'))
const schema = load('questions.schema.json')
const schemaV1 = load('questions.v1.schema.json')
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ajv = new (Ajv2020 as any)({ allErrors: true, strict: true })
// eslint-disable-next-line @typescript-eslint/no-explicit-any
;(addFormats as any)(ajv)
const validate = ajv.compile(schema)
const validateV1 = ajv.compile(schemaV1)
/** What the page reads: a file of either version. */
const valid = (d: unknown) => validate(d) || validateV1(d)

const sorted = (xs: readonly string[]) => [...xs].sort()

describe('schema contract', () => {
  it('the type key lists match the schema (version 2)', () => {
    const d = schema.$defs
    expect(schema.properties.version).toEqual({ const: 2 })
    expect(sorted(ROOT_KEYS)).toEqual(sorted(Object.keys(schema.properties)))
    expect(sorted(ROOT_REQUIRED)).toEqual(sorted(schema.required))
    expect(sorted(ANALYSIS_KEYS)).toEqual(sorted(Object.keys(d.analysis.properties)))
    expect(sorted(ANALYSIS_REQUIRED)).toEqual(sorted(d.analysis.required))
    expect(sorted(STATS_KEYS)).toEqual(sorted(Object.keys(d.stats.properties)))
    expect(sorted(STATS_REQUIRED)).toEqual(sorted(d.stats.required))
    expect(sorted(ROLE_KEYS)).toEqual(sorted(Object.keys(d.stats.properties.roles.properties)))
    expect(sorted(ROLE_KEYS)).toEqual(sorted(d.stats.properties.roles.required))
    expect(sorted(CLUSTER_KEYS)).toEqual(sorted(Object.keys(d.cluster.properties)))
    expect(sorted(CLUSTER_REQUIRED)).toEqual(sorted(d.cluster.required))
    expect(sorted(BEST_ANSWER_KEYS)).toEqual(sorted(Object.keys(d.cluster.properties.bestAnswer.properties)))
    expect(sorted(BEST_ANSWER_KEYS)).toEqual(sorted(d.cluster.properties.bestAnswer.required))
  })

  it('the type key lists match the schema of version 1', () => {
    const d = schemaV1.$defs
    expect(schemaV1.properties.version).toEqual({ const: 1 })
    expect(sorted(ROOT_KEYS)).toEqual(sorted(Object.keys(schemaV1.properties)))
    expect(sorted(ANALYSIS_KEYS_V1)).toEqual(sorted(Object.keys(d.analysis.properties)))
    expect(sorted(ANALYSIS_REQUIRED_V1)).toEqual(sorted(d.analysis.required))
    expect(sorted(STATS_KEYS_V1)).toEqual(sorted(Object.keys(d.analysis.properties.stats.properties)))
    expect(sorted(STATS_REQUIRED_V1)).toEqual(sorted(d.analysis.properties.stats.required))
    expect(sorted(CLUSTER_KEYS_V1)).toEqual(sorted(Object.keys(d.cluster.properties)))
    expect(sorted(CLUSTER_REQUIRED_V1)).toEqual(sorted(d.cluster.required))
  })

  it('the version 1 fixture is valid under the version 1 schema only (ajv and the page validator agree)', () => {
    const v1 = toV1(monthlyData())
    expect(validateV1(v1), JSON.stringify(validateV1.errors)).toBe(true)
    expect(validate(v1)).toBe(false)
    expect(validateQuestionAnalysis(v1)).toEqual([])
    expect(validateV1(monthlyData())).toBe(false)
  })

  it.each([
    ['monthly', monthlyData()],
    ['3,000 clusters', largeData()],
    ['no months', emptyData()],
  ])('the %s fixture is valid (ajv and the page validator agree)', (_name, data) => {
    const ok = validate(data)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
    expect(validateQuestionAnalysis(data)).toEqual([])
  })

  it('every tenant fixture with an object questions.json is valid; the broken ones are not', () => {
    for (const [name, t] of Object.entries(tenants())) {
      if (t.questions === undefined) continue
      if (typeof t.questions === 'string') {
        let parsed: unknown
        try {
          parsed = JSON.parse(t.questions)
        } catch {
          continue // malformed JSON: nothing to validate
        }
        expect(valid(parsed), name).toBe(false)
        expect(validateQuestionAnalysis(parsed).length, name).toBeGreaterThan(0)
      } else {
        expect(valid(t.questions), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true)
      }
    }
  })

  it('the fixtures cover the hard cases', () => {
    const m = monthlyData()
    expect(LONG_QUESTION_5000).toHaveLength(5000)
    expect(m.analyses['2024-04'].clusters.some((c) => c.representative === LONG_QUESTION_5000)).toBe(true)
    expect(m.analyses['2024-02'].clusters).toHaveLength(0)
    expect(m.analyses['2024-04'].minorClusters.map((c) => c.askers)).toEqual([1, 1])
    expect(m.analyses['2024-04'].clusters.some((c) => c.bestAnswer?.acknowledged === false)).toBe(true)
    expect(m.analyses['2024-04'].clusters.some((c) => c.bestAnswer === null)).toBe(true)
    expect(largeData().analyses['2024-05'].clusters).toHaveLength(3000)
    expect(JSON.stringify(m)).toMatch(/\p{Extended_Pictographic}/u)
    expect(JSON.stringify(m)).toMatch(/\p{Script=Arabic}/u)
    expect(JSON.stringify(m)).toMatch(/\p{Script=Han}/u)
  })

  // Mutations of a valid file: the schema rejects each, and so must the page's validator.
  const mutations: [string, (d: any) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['wrong version', (d) => (d.version = 3)],
    ['version 1 with version 2 fields', (d) => (d.version = 1)],
    ['missing tenantId', (d) => delete d.tenantId],
    ['extra root property', (d) => (d.extra = 1)],
    ['bad month in months', (d) => (d.months[0] = '2024-13')],
    ['bad analyses key', (d) => (d.analyses['24-1'] = d.analyses['2024-01'])],
    ['stats not integer', (d) => (d.analyses['2024-01'].stats.messages = 1.5)],
    ['cluster size 0', (d) => (d.analyses['2024-01'].clusters[0].size = 0)],
    ['cluster title a number', (d) => (d.analyses['2024-01'].clusters[0].title = 5)],
    ['unansweredRate > 1', (d) => (d.analyses['2024-01'].clusters[0].unansweredRate = 1.5)],
    ['keywords not strings', (d) => (d.analyses['2024-01'].clusters[0].keywords = [1])],
    ['missing messageIds', (d) => delete d.analyses['2024-01'].clusters[0].messageIds],
    ['extra cluster property', (d) => (d.analyses['2024-01'].clusters[0].cohesion = 0.5)],
    ['askers 0', (d) => (d.analyses['2024-01'].clusters[0].askers = 0)],
    ['askers missing', (d) => delete d.analyses['2024-01'].clusters[0].askers],
    ['resolvedRate > 1', (d) => (d.analyses['2024-04'].clusters[0].resolvedRate = 2)],
    ['bestAnswer without a channel', (d) => delete d.analyses['2024-04'].clusters[0].bestAnswer.channelId],
    ['bestAnswer acknowledged not a boolean', (d) => (d.analyses['2024-04'].clusters[0].bestAnswer.acknowledged = 'yes')],
    ['minorClusters missing', (d) => delete d.analyses['2024-04'].minorClusters],
    ['minor cluster askers not an integer', (d) => (d.analyses['2024-04'].minorClusters[0].askers = 1.5)],
    ['stats asks negative', (d) => (d.analyses['2024-01'].stats.asks = -1)],
    ['stats roles missing a role', (d) => delete d.analyses['2024-01'].stats.roles.backchannel],
    ['title missing (version 2 writes null)', (d) => delete d.analyses['2024-01'].clusters[1].title],
    ['clusters not an array', (d) => (d.analyses['2024-01'].clusters = {})],
    ['bad analyzedAt', (d) => (d.analyses['2024-01'].analyzedAt = 'yesterday')],
    ['repeated month', (d) => d.months.push('2024-01')],
  ]
  it.each(mutations)('both reject: %s', (_name, mutate) => {
    const d = monthlyData()
    mutate(d)
    expect(valid(d)).toBe(false)
    expect(validateQuestionAnalysis(d).length).toBeGreaterThan(0)
  })
})
