/** TypeScript types of the database (what Kysely checks every query against). */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
/** jsonb: written as a JSON string, read as the parsed value. */
type Json<T> = ColumnType<T, string, string>
type BigSerial = ColumnType<string, never, never>

export interface TenantsTable {
  id: string
  name: string
  active: ColumnType<boolean, boolean | undefined, boolean>
  /** Per-tenant analysis overrides (see TenantSettings in tenant-settings.ts). */
  settings: ColumnType<unknown, string | undefined, string>
  created_at: CreatedAt
}

export interface MessagesTable {
  id: string
  tenant_id: string
  channel_id: string
  author_id: string
  content: string
  created_at: Timestamp
  thread_id: string | null
  reply_to_id: string | null
  /** Display name (0004); null when unknown. */
  author_name: string | null
  /** Said by a bot or a webhook (0004). */
  author_is_bot: Generated<boolean>
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'skipped' | 'interrupted'

export interface RoleCounts {
  ask: number
  clarification: number
  backchannel: number
  other: number
}

/**
 * question_analysis_runs.stats. The counts of asks and answers come from a library with asks
 * (migration 0003); runs stored before lack them (absent: unknown).
 */
export interface RunStats {
  messages: number
  questions: number
  extracted: number
  llmFallbacks: number
  skippedExtraction: number
  duplicates: number
  clusters: number
  unclustered: number
  rejected: number
  warnings: string[]
  timingsMs: Record<string, number>
  peakRssBytes: number
  roles?: RoleCounts
  asks?: number
  conversations?: number
  answered?: number
  resolved?: number
  notRequests?: number
  minorClusters?: number
  /** Messages said by bots (library since migration 0004's time); absent before. */
  botMessages?: number
}

export interface QuestionAnalysisRunsTable {
  id: BigSerial
  tenant_id: string
  /** YYYY-MM */
  month: string
  status: RunStatus
  force: ColumnType<boolean, boolean | undefined, boolean>
  job_id: string | null
  correlation_id: string | null
  attempt: number | null
  stats: Json<RunStats | null> | null
  error: string | null
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** A nullable column added by migration 0003: null in rows stored before it. */
type Added<T> = ColumnType<T | null, T | null | undefined, T | null>

export type QuestionRole = 'ask' | 'clarification' | 'backchannel' | 'other'

export interface QuestionClustersTable {
  id: BigSerial
  tenant_id: string
  month: string
  run_id: ColumnType<string | null, string | number | null | undefined, string | number | null>
  /** The cluster's id in the analysis (its rank: 0 = the most askers; unique across clusters and minor clusters). */
  cluster_id: number
  /** Fewer distinct askers than minAskers: listed apart (analyzeTenant's minorClusters). */
  minor: ColumnType<boolean, boolean | undefined, boolean>
  /** Messages in the cluster, duplicates counted. */
  size: number
  /** Unique questions in the cluster. */
  question_count: number
  representative: string
  representative_question_id: string
  samples: string[]
  member_question_ids: string[]
  message_ids: string[]
  keywords: string[]
  title: string | null
  unanswered_rate: number
  cohesion: number
  /** Distinct askers (null: stored before 0003). */
  askers: Added<number>
  resolved_rate: Added<number>
  answered: Added<number>
  resolved: Added<number>
  /** The best answer: all five or none (null: no answer, or stored before 0003). */
  best_answer_question_id: Added<string>
  best_answer_message_id: Added<string>
  best_answer_channel_id: Added<string>
  best_answer_author_id: Added<string>
  best_answer_acknowledged: Added<boolean>
  created_at: CreatedAt
}

export interface QuestionClassificationsTable {
  id: BigSerial
  tenant_id: string
  month: string
  run_id: ColumnType<string | null, string | number | null | undefined, string | number | null>
  question_id: string
  message_ids: string[]
  original: string
  extracted: string
  source: 'llm' | 'original'
  /** Classifier confidence (P(question)). */
  confidence: number
  author_id: string
  channel_id: string
  asked_at: Timestamp
  context_message_ids: string[]
  answered: boolean
  /** question_clusters.cluster_id of the same tenant and month, or null when unclustered. */
  cluster_id: number | null
  role: Added<QuestionRole>
  /** Its conversation (analyzeTenant's conversationId). */
  conversation_id: Added<string>
  resolved: Added<boolean>
  /** The reply that answered it: all four or none. */
  answer_message_id: Added<string>
  answer_channel_id: Added<string>
  answer_author_id: Added<string>
  answer_acknowledged: Added<boolean>
  /** The LLM said it is not a request for help (left out of the clusters). */
  not_request: Added<boolean>
  created_at: CreatedAt
}

export interface Database {
  tenants: TenantsTable
  messages: MessagesTable
  question_analysis_runs: QuestionAnalysisRunsTable
  question_clusters: QuestionClustersTable
  question_classifications: QuestionClassificationsTable
}

export type Tenant = Selectable<TenantsTable>
export type NewTenant = Insertable<TenantsTable>
export type Message = Selectable<MessagesTable>
export type NewMessage = Insertable<MessagesTable>
export type AnalysisRun = Selectable<QuestionAnalysisRunsTable>
export type AnalysisRunUpdate = Updateable<QuestionAnalysisRunsTable>
export type StoredCluster = Selectable<QuestionClustersTable>
export type StoredQuestion = Selectable<QuestionClassificationsTable>
