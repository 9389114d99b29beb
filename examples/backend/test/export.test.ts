/** questions.json and metadata.json: content, order, the published JSON Schema, tenant isolation. */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { type QuestionsExport, exportQuestionAnalysis, questionsValidator } from '../src/export'
import { questionsSchemaPath } from '../src/paths'
import { syntheticAnalysis } from './support/analysis'
import { type TestContext, createTestContext } from './support/env'
import { insertTenant } from './support/fixtures'

let ctx: TestContext
let dir: string
before(async () => {
  ctx = await createTestContext()
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qi-export-'))
  for (const id of ['alpha', 'beta', 'empty']) await insertTenant(ctx.db, { id })
})
after(async () => {
  await fs.rm(dir, { recursive: true, force: true })
  await ctx?.cleanup()
})

const readJson = async (...p: string[]) => JSON.parse(await fs.readFile(path.join(dir, ...p), 'utf8')) as Record<string, unknown>

test('the schema is the published one (examples/schema/questions.schema.json)', () => {
  assert.equal(path.basename(questionsSchemaPath), 'questions.schema.json')
  assert.equal(path.basename(path.dirname(questionsSchemaPath)), 'schema')
})

test('exports every analysed month, clusters by size, with counts, and validates against the schema', async () => {
  await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', '2024-11', { clusters: 3 }))
  await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', '2024-12', { clusters: 2 }))
  await ctx.repo.storeAnalysis(syntheticAnalysis('alpha', '2025-01', { clusters: 4 }))
  await ctx.repo.storeAnalysis(syntheticAnalysis('beta', '2024-12', { clusters: 5 }))
  // The existing backend's metadata.json keeps its other fields.
  await fs.mkdir(path.join(dir, 'alpha'), { recursive: true })
  await fs.writeFile(path.join(dir, 'alpha', 'metadata.json'), JSON.stringify({ name: 'Alpha', hasQuestionAnalysis: false, channels: 3 }))

  const now = new Date('2025-02-01T03:00:00Z')
  const r = await exportQuestionAnalysis('alpha', { db: ctx.db, exportDir: dir, now })
  assert.equal(r.hasQuestionAnalysis, true)
  assert.deepEqual(r.months, ['2024-11', '2024-12', '2025-01'])

  const doc = (await readJson('alpha', 'questions.json')) as unknown as QuestionsExport
  const validate = await questionsValidator()
  assert.equal(validate(doc), true, JSON.stringify(validate.errors))
  assert.equal(doc.version, 1)
  assert.equal(doc.tenantId, 'alpha')
  assert.equal(doc.generatedAt, now.toISOString())
  assert.deepEqual(doc.months, ['2024-11', '2024-12', '2025-01'], 'oldest first')
  assert.deepEqual(Object.keys(doc.analyses).sort(), doc.months)

  const jan = doc.analyses['2025-01']!
  assert.equal(jan.month, '2025-01')
  assert.ok(!Number.isNaN(Date.parse(jan.analyzedAt)))
  assert.deepEqual(jan.stats, { messages: 100, questions: 11, clusters: 4, unclustered: 1, duplicates: 10 })
  assert.deepEqual(jan.clusters.map((c) => c.size), [8, 6, 4, 2], 'largest first')
  const top = jan.clusters[0]!
  assert.deepEqual(top, {
    id: 0,
    title: 'Thing 0 (v1)',
    representative: 'How do I do thing 0.0?',
    samples: ['How do I do thing 0.0?', 'How do I do thing 0.1?'],
    size: 8,
    questionCount: 4,
    keywords: ['thing', 'topic0'],
    unansweredRate: 0.5,
    messageIds: syntheticAnalysis('alpha', '2025-01', { clusters: 4 }).clusters[0]!.messageIds,
  })
  assert.equal(jan.clusters[1]!.title, null)

  // Tenant isolation: nothing of beta's in alpha's file.
  const text = JSON.stringify(doc)
  assert.equal(text.includes('beta-'), false)

  const meta = await readJson('alpha', 'metadata.json')
  assert.deepEqual(meta, { name: 'Alpha', hasQuestionAnalysis: true, channels: 3 })

  const rb = await exportQuestionAnalysis('beta', { db: ctx.db, exportDir: dir, now })
  assert.deepEqual(rb.months, ['2024-12'])
  const beta = (await readJson('beta', 'questions.json')) as unknown as QuestionsExport
  assert.equal(validate(beta), true)
  assert.equal(JSON.stringify(beta).includes('alpha-'), false)
})

test('a tenant without analyses gets hasQuestionAnalysis false and no questions.json', async () => {
  await fs.mkdir(path.join(dir, 'empty'), { recursive: true })
  await fs.writeFile(path.join(dir, 'empty', 'questions.json'), '{"stale": true}')
  await fs.writeFile(path.join(dir, 'empty', 'metadata.json'), JSON.stringify({ hasQuestionAnalysis: true }))
  const r = await exportQuestionAnalysis('empty', { db: ctx.db, exportDir: dir })
  assert.equal(r.hasQuestionAnalysis, false)
  assert.equal(r.questionsPath, null)
  await assert.rejects(fs.access(path.join(dir, 'empty', 'questions.json')), /ENOENT/)
  assert.deepEqual(await readJson('empty', 'metadata.json'), { hasQuestionAnalysis: false })
})

test('the schema rejects what the Insights page could not read', async () => {
  const validate = await questionsValidator()
  const ok: QuestionsExport = { version: 1, tenantId: 't', generatedAt: '2025-01-01T00:00:00Z', months: [], analyses: {} }
  assert.equal(validate(ok), true)
  assert.equal(validate({ ...ok, generatedAt: 'yesterday' }), false, 'date-time format is checked (ajv-formats)')
  assert.equal(validate({ ...ok, months: ['2025-13'] }), false)
  assert.equal(validate({ ...ok, extra: 1 }), false)
})

test('refuses unknown tenants and unsafe ids', async () => {
  await assert.rejects(exportQuestionAnalysis('nobody', { db: ctx.db, exportDir: dir }), /does not exist/)
  await assert.rejects(exportQuestionAnalysis('../x', { db: ctx.db, exportDir: dir }), /not a safe file name/)
})
