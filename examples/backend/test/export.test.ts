/** questions.json and metadata.json: content, order, the published JSON Schema, tenant isolation. */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { type QuestionsExport, exportQuestionAnalysis, questionsJsonBuilder, questionsValidator } from '../src/export'
import { questionsJsonBuilderPath, questionsSchemaPath } from '../src/paths'
import { syntheticAnalysis } from './support/analysis'
import { type TestContext, createTestContext } from './support/env'
import { insertTenant } from './support/fixtures'

let ctx: TestContext
let dir: string
before(async () => {
  ctx = await createTestContext()
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qi-export-'))
  for (const id of ['alpha', 'beta', 'empty', 'gamma']) await insertTenant(ctx.db, { id })
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

test('exports every analysed month, clusters ranked by askers, with counts, and validates against the schema', async () => {
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
  assert.equal(doc.version, 2)
  assert.equal(doc.tenantId, 'alpha')
  assert.equal(doc.generatedAt, now.toISOString())
  assert.deepEqual(doc.months, ['2024-11', '2024-12', '2025-01'], 'oldest first')
  assert.deepEqual(Object.keys(doc.analyses).sort(), doc.months)

  const jan = doc.analyses['2025-01']!
  assert.equal(jan.month, '2025-01')
  assert.ok(!Number.isNaN(Date.parse(jan.analyzedAt)))
  const source = syntheticAnalysis('alpha', '2025-01', { clusters: 4 })
  assert.deepEqual(jan.stats, {
    messages: 100,
    questions: source.questions.length,
    clusters: 4,
    unclustered: 1,
    duplicates: source.questions.length - 1,
    asks: source.stats.asks,
    conversations: source.stats.conversations,
    answered: 2,
    resolved: 1,
    notRequests: 1,
    minorClusters: 1,
    roles: source.stats.roles,
  })
  assert.deepEqual(jan.clusters.map((c) => c.askers), [4, 3, 2, 1], 'ranked by distinct askers')
  const top = jan.clusters[0]!
  const firstAsk = source.clusters[0]!.memberQuestionIds[0]!
  assert.deepEqual(top, {
    id: 0,
    title: 'Thing 0 (v1)',
    representative: `How do I do thing ${firstAsk}?`,
    samples: source.clusters[0]!.samples,
    size: 8,
    questionCount: 4,
    keywords: ['thing', 'topic0'],
    askers: 4,
    unansweredRate: 0.6667,
    resolvedRate: 0.3333,
    bestAnswer: { guildId: 'alpha', channelId: 'c-general', messageId: `${firstAsk}-answer`, questionId: firstAsk, authorId: 'helper', acknowledged: true },
    messageIds: source.clusters[0]!.messageIds,
  })
  assert.equal(jan.clusters[1]!.title, null)
  assert.equal(jan.clusters[1]!.bestAnswer!.acknowledged, false, 'the first substantial reply, not acknowledged')
  assert.equal(jan.clusters[2]!.bestAnswer, null, 'no answer')
  assert.deepEqual(jan.minorClusters.map((c) => [c.id, c.askers, c.size]), [[4, 1, 2]], 'the single-asker cluster, listed apart')

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

test('the export is scripts/questions-json.js on the stored rows: the same file as from the analyses themselves', async () => {
  assert.equal(path.relative(path.resolve(questionsSchemaPath, '..', '..', '..'), questionsJsonBuilderPath), path.join('scripts', 'questions-json.js'))
  const analyses = [
    syntheticAnalysis('gamma', '2024-06', { clusters: 5, tag: 'new' }),
    // a month analysed by a library from before asks
    syntheticAnalysis('gamma', '2024-05', { clusters: 2, tag: 'old', legacy: true }),
  ]
  for (const a of analyses) await ctx.repo.storeAnalysis(a)
  const now = new Date('2024-07-02T00:00:00Z')
  const r = await exportQuestionAnalysis('gamma', { db: ctx.db, exportDir: dir, now })
  const exported = JSON.parse(await fs.readFile(r.questionsPath!, 'utf8')) as QuestionsExport
  // What `npm run demo` writes from analyzeTenant's results, given the same analysis times.
  const direct = questionsJsonBuilder()(
    'gamma',
    analyses.map((a) => ({ ...a, analyzedAt: exported.analyses[a.month]!.analyzedAt })),
    now,
  )
  assert.deepEqual(exported, direct)
  const validate = await questionsValidator()
  assert.equal(validate(direct), true, JSON.stringify(validate.errors))

  const old = exported.analyses['2024-05']!
  assert.ok(old.clusters.every((c) => c.askers === null && c.resolvedRate === null && c.bestAnswer === null), 'unknown, not 0')
  assert.deepEqual(old.minorClusters, [])
  assert.deepEqual(
    [old.stats.asks, old.stats.conversations, old.stats.answered, old.stats.resolved, old.stats.notRequests, old.stats.minorClusters, old.stats.roles],
    [null, null, null, null, null, null, null],
  )
  assert.deepEqual(old.clusters.map((c) => c.size), [4, 2, 2], 'ranked by size when askers are unknown')
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
  const ok: QuestionsExport = { version: 2, tenantId: 't', generatedAt: '2025-01-01T00:00:00Z', months: [], analyses: {} }
  assert.equal(validate(ok), true)
  assert.equal(validate({ ...ok, version: 1 }), false, 'version 1 has its own schema (questions.v1.schema.json)')
  assert.equal(validate({ ...ok, generatedAt: 'yesterday' }), false, 'date-time format is checked (ajv-formats)')
  assert.equal(validate({ ...ok, months: ['2025-13'] }), false)
  assert.equal(validate({ ...ok, extra: 1 }), false)

  const month = questionsJsonBuilder()('t', [syntheticAnalysis('t', '2025-01')]).analyses['2025-01']!
  const withMonth = (m: unknown) => ({ ...ok, months: ['2025-01'], analyses: { '2025-01': m } })
  assert.equal(validate(withMonth(month)), true, JSON.stringify(validate.errors))
  const cluster = month.clusters[0]!
  const bad: Array<[string, unknown]> = [
    ['askers 0', { ...month, clusters: [{ ...cluster, askers: 0 }] }],
    ['resolvedRate above 1', { ...month, clusters: [{ ...cluster, resolvedRate: 1.5 }] }],
    ['bestAnswer without its channel', { ...month, clusters: [{ ...cluster, bestAnswer: { ...cluster.bestAnswer, channelId: undefined } }] }],
    ['a cluster without askers (null is unknown; absent is an error)', { ...month, clusters: [{ ...cluster, askers: undefined }] }],
    ['no minorClusters', { ...month, minorClusters: undefined }],
    ['roles missing a role', { ...month, stats: { ...month.stats, roles: { ask: 1 } } }],
  ]
  for (const [why, m] of bad) assert.equal(validate(JSON.parse(JSON.stringify(withMonth(m)))), false, why)
})

test('refuses unknown tenants and unsafe ids', async () => {
  await assert.rejects(exportQuestionAnalysis('nobody', { db: ctx.db, exportDir: dir }), /does not exist/)
  await assert.rejects(exportQuestionAnalysis('../x', { db: ctx.db, exportDir: dir }), /not a safe file name/)
})
