/**
 * exportQuestionAnalysis(tenantId): writes <EXPORT_DIR>/<tenantId>/questions.json (every analysed
 * month; format version 2, schema examples/schema/questions.schema.json, checked before writing)
 * and sets `hasQuestionAnalysis` in that tenant's metadata.json (keeping its other fields).
 *
 * The document is built by scripts/questions-json.js, the one builder of questions.json (the
 * library's demo uses it on analyzeTenant results): the stored rows are handed to it in the shape
 * of analyzeTenant's result. Rows stored before migration 0003 have no askers, answers or role
 * counts: they are exported as null (unknown).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import type { Db } from './db/index'
import type { QuestionsJson } from '../../schema/questions'
import type { RunStats, StoredCluster } from './db/types'
import { questionsJsonBuilderPath, questionsSchemaPath } from './paths'
import { QuestionRepository } from './repository'

/** questions.json, format version 2 (see examples/schema/questions.schema.json). */
export type QuestionsExport = QuestionsJson

/** A cluster as the builder reads it: analyzeTenant's shape, or a stored row in it. */
export interface BuilderCluster {
  id: number
  title?: string | null
  representative: string
  samples: string[]
  size: number
  questionCount?: number
  memberQuestionIds?: string[]
  keywords: string[]
  askers?: number | null
  unansweredRate: number
  resolvedRate?: number | null
  bestAnswer?: { questionId: string; messageId: string; channelId: string; authorId: string; acknowledged: boolean } | null
  messageIds: string[]
}

/** A month as the builder reads it (see scripts/questions-json.js). */
export interface BuilderMonth {
  month: string
  analyzedAt?: Date | string
  stats: Pick<RunStats, 'messages' | 'questions' | 'clusters' | 'unclustered' | 'duplicates'> & {
    [K in 'asks' | 'conversations' | 'answered' | 'resolved' | 'notRequests' | 'minorClusters' | 'roles']?: RunStats[K] | null
  }
  clusters: BuilderCluster[]
  minorClusters?: BuilderCluster[] | null
}

type ToQuestionsJson = (tenantId: string, analyses: BuilderMonth[], now?: Date) => QuestionsExport

let builder: ToQuestionsJson | undefined

/** scripts/questions-json.js' toQuestionsJson. */
export function questionsJsonBuilder(): ToQuestionsJson {
  builder ??= (require(questionsJsonBuilderPath) as { toQuestionsJson: ToQuestionsJson }).toQuestionsJson
  return builder
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

/** A stored cluster row in the builder's (analyzeTenant's) shape. */
export function builderCluster(c: StoredCluster): BuilderCluster {
  const hasAnswer = c.best_answer_message_id !== null && c.best_answer_channel_id !== null
  return {
    id: c.cluster_id,
    title: c.title,
    representative: c.representative,
    samples: c.samples,
    size: c.size,
    questionCount: c.question_count,
    keywords: c.keywords,
    askers: c.askers,
    unansweredRate: c.unanswered_rate,
    resolvedRate: c.resolved_rate,
    bestAnswer: hasAnswer
      ? {
          questionId: c.best_answer_question_id ?? '',
          messageId: c.best_answer_message_id!,
          channelId: c.best_answer_channel_id!,
          authorId: c.best_answer_author_id ?? '',
          acknowledged: c.best_answer_acknowledged === true,
        }
      : null,
    messageIds: c.message_ids,
  }
}

/** Builds a tenant's questions.json document, or null when it has no analysed month. */
export async function buildQuestionsExport(repo: QuestionRepository, tenantId: string, now: Date = new Date()): Promise<QuestionsExport | null> {
  const analyses = await repo.listAnalyses(tenantId)
  if (analyses.length === 0) return null
  const months: BuilderMonth[] = []
  for (const a of analyses) {
    const clusters = await repo.loadClusters(tenantId, a.month)
    const minor = await repo.loadClusters(tenantId, a.month, { minor: true })
    const s: Partial<RunStats> = a.stats ?? {}
    months.push({
      month: a.month,
      analyzedAt: a.analyzedAt,
      stats: {
        ...s,
        messages: s.messages ?? 0,
        questions: s.questions ?? 0,
        clusters: s.clusters ?? clusters.length,
        unclustered: s.unclustered ?? 0,
        duplicates: s.duplicates ?? 0,
      },
      clusters: clusters.map(builderCluster),
      minorClusters: minor.map(builderCluster),
    })
  }
  return questionsJsonBuilder()(tenantId, months, now)
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
