/**
 * exportQuestionAnalysis(tenantId): writes <EXPORT_DIR>/<tenantId>/questions.json (every analysed
 * month; the schema is examples/schema/questions.schema.json, checked before writing) and sets
 * `hasQuestionAnalysis` in that tenant's metadata.json (keeping its other fields).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import type { Db } from './db/index'
import { questionsSchemaPath } from './paths'
import { QuestionRepository } from './repository'

export interface ExportedCluster {
  id: number
  title: string | null
  representative: string
  samples: string[]
  size: number
  questionCount: number
  keywords: string[]
  unansweredRate: number
  messageIds: string[]
}

export interface ExportedMonth {
  month: string
  analyzedAt: string
  stats: { messages: number; questions: number; clusters: number; unclustered: number; duplicates: number }
  clusters: ExportedCluster[]
}

/** questions.json (see examples/schema/questions.schema.json). */
export interface QuestionsExport {
  version: 1
  tenantId: string
  generatedAt: string
  months: string[]
  analyses: Record<string, ExportedMonth>
}

export interface ExportResult {
  tenantId: string
  hasQuestionAnalysis: boolean
  months: string[]
  /** null when the tenant has no analysis (and any earlier questions.json was removed). */
  questionsPath: string | null
  metadataPath: string
}

let validator: ValidateFunction<QuestionsExport> | undefined

/** An ajv validator of questions.json compiled from the published schema. */
export async function questionsValidator(): Promise<ValidateFunction<QuestionsExport>> {
  if (!validator) {
    const schema = JSON.parse(await fs.readFile(questionsSchemaPath, 'utf8')) as object
    const ajv = new Ajv2020({ allErrors: true, strict: true })
    addFormats(ajv)
    validator = ajv.compile<QuestionsExport>(schema)
  }
  return validator
}

export class ExportValidationError extends Error {
  override name = 'ExportValidationError'
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Builds a tenant's questions.json document, or null when it has no analysed month. */
export async function buildQuestionsExport(repo: QuestionRepository, tenantId: string, now: Date = new Date()): Promise<QuestionsExport | null> {
  const analyses = await repo.listAnalyses(tenantId)
  if (analyses.length === 0) return null
  const doc: QuestionsExport = { version: 1, tenantId, generatedAt: now.toISOString(), months: [], analyses: {} }
  for (const a of analyses) {
    const clusters = await repo.loadClusters(tenantId, a.month)
    doc.months.push(a.month)
    doc.analyses[a.month] = {
      month: a.month,
      analyzedAt: a.analyzedAt.toISOString(),
      stats: {
        messages: a.stats?.messages ?? 0,
        questions: a.stats?.questions ?? 0,
        clusters: a.stats?.clusters ?? clusters.length,
        unclustered: a.stats?.unclustered ?? 0,
        duplicates: a.stats?.duplicates ?? 0,
      },
      clusters: clusters.map((c) => ({
        id: c.cluster_id,
        title: c.title,
        representative: c.representative,
        samples: c.samples,
        size: c.size,
        questionCount: c.question_count,
        keywords: c.keywords,
        unansweredRate: c.unanswered_rate,
        messageIds: c.message_ids,
      })),
    }
  }
  return doc
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`)
  await fs.rename(tmp, file)
}

export async function exportQuestionAnalysis(
  tenantId: string,
  deps: { db: Db; exportDir: string; now?: Date },
): Promise<ExportResult> {
  if (!SAFE_SEGMENT.test(tenantId)) throw new RangeError(`tenant id ${JSON.stringify(tenantId)} is not a safe file name`)
  const repo = new QuestionRepository(deps.db)
  if (!(await repo.getTenant(tenantId))) throw new Error(`tenant ${tenantId} does not exist`)

  const dir = path.join(deps.exportDir, tenantId)
  await fs.mkdir(dir, { recursive: true })
  const questionsPath = path.join(dir, 'questions.json')
  const metadataPath = path.join(dir, 'metadata.json')

  const doc = await buildQuestionsExport(repo, tenantId, deps.now)
  if (doc) {
    const validate = await questionsValidator()
    if (!validate(doc)) {
      throw new ExportValidationError(`questions.json of ${tenantId} does not match its schema: ${JSON.stringify(validate.errors?.slice(0, 5))}`)
    }
    await writeJsonAtomic(questionsPath, doc)
  } else {
    await fs.rm(questionsPath, { force: true })
  }

  let metadata: Record<string, unknown> = {}
  try {
    const parsed = JSON.parse(await fs.readFile(metadataPath, 'utf8')) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) metadata = parsed as Record<string, unknown>
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${metadataPath}: ${(err as Error).message}`)
  }
  metadata.hasQuestionAnalysis = doc !== null
  await writeJsonAtomic(metadataPath, metadata)

  return { tenantId, hasQuestionAnalysis: doc !== null, months: doc?.months ?? [], questionsPath: doc ? questionsPath : null, metadataPath }
}
