// @vitest-environment node
// Fixtures, types and the runtime validator against the schema (the contract).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import {
  ANALYSIS_KEYS,
  ANALYSIS_REQUIRED,
  CLUSTER_KEYS,
  CLUSTER_REQUIRED,
  ROOT_KEYS,
  ROOT_REQUIRED,
  STATS_KEYS,
  STATS_REQUIRED,
  validateQuestionAnalysis,
} from '../src/lib/data'
import { LONG_QUESTION_5000, emptyData, largeData, monthlyData, tenants } from './fixtures'

const schemaPath = fileURLToPath(new URL('../../schema/questions.schema.json', import.meta.url))
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'))
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ajv = new (Ajv2020 as any)({ allErrors: true, strict: true })
// eslint-disable-next-line @typescript-eslint/no-explicit-any
;(addFormats as any)(ajv)
const validate = ajv.compile(schema)

const sorted = (xs: readonly string[]) => [...xs].sort()

describe('schema contract', () => {
  it('the type key lists match the schema', () => {
    const d = schema.$defs
    expect(sorted(ROOT_KEYS)).toEqual(sorted(Object.keys(schema.properties)))
    expect(sorted(ROOT_REQUIRED)).toEqual(sorted(schema.required))
    expect(sorted(ANALYSIS_KEYS)).toEqual(sorted(Object.keys(d.analysis.properties)))
    expect(sorted(ANALYSIS_REQUIRED)).toEqual(sorted(d.analysis.required))
    expect(sorted(STATS_KEYS)).toEqual(sorted(Object.keys(d.analysis.properties.stats.properties)))
    expect(sorted(STATS_REQUIRED)).toEqual(sorted(d.analysis.properties.stats.required))
    expect(sorted(CLUSTER_KEYS)).toEqual(sorted(Object.keys(d.cluster.properties)))
    expect(sorted(CLUSTER_REQUIRED)).toEqual(sorted(d.cluster.required))
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
        expect(validate(parsed), name).toBe(false)
        expect(validateQuestionAnalysis(parsed).length, name).toBeGreaterThan(0)
      } else {
        expect(validate(t.questions), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true)
      }
    }
  })

  it('the fixtures cover the hard cases', () => {
    const m = monthlyData()
    expect(LONG_QUESTION_5000).toHaveLength(5000)
    expect(m.analyses['2024-04'].clusters.some((c) => c.representative === LONG_QUESTION_5000)).toBe(true)
    expect(m.analyses['2024-02'].clusters).toHaveLength(0)
    expect(largeData().analyses['2024-05'].clusters).toHaveLength(3000)
    expect(JSON.stringify(m)).toMatch(/\p{Extended_Pictographic}/u)
    expect(JSON.stringify(m)).toMatch(/\p{Script=Arabic}/u)
    expect(JSON.stringify(m)).toMatch(/\p{Script=Han}/u)
  })

  // Mutations of a valid file: the schema rejects each, and so must the page's validator.
  const mutations: [string, (d: any) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['wrong version', (d) => (d.version = 2)],
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
    ['clusters not an array', (d) => (d.analyses['2024-01'].clusters = {})],
    ['bad analyzedAt', (d) => (d.analyses['2024-01'].analyzedAt = 'yesterday')],
    ['repeated month', (d) => d.months.push('2024-01')],
  ]
  it.each(mutations)('both reject: %s', (_name, mutate) => {
    const d = monthlyData()
    mutate(d)
    expect(validate(d)).toBe(false)
    expect(validateQuestionAnalysis(d).length).toBeGreaterThan(0)
  })
})
