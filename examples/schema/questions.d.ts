// TypeScript types of questions.json (questions.schema.json, format version 2, and
// questions.v1.schema.json). The reference backend writes them (examples/backend/src/export.ts),
// the Insights page reads them (examples/insights/src/lib/data.ts, whose key lists a test
// compares with both schemas).

/** A month: "YYYY-MM". */
export type Month = string

export interface RoleCounts {
  ask: number
  clarification: number
  backchannel: number
  other: number
}

/** A month's counts. null: unknown (analysed before asks were counted). */
export interface MonthStats {
  messages: number
  questions: number
  /** Clusters, minor ones not included. */
  clusters: number
  unclustered: number
  duplicates: number
  /** Messages by which someone seeks help or information for themselves. */
  asks: number | null
  conversations: number | null
  /** Asks whose conversation got a reply from someone other than the asker. */
  answered: number | null
  /** Asks whose asker acknowledged an answer. */
  resolved: number | null
  /** Items the LLM said are not a request for help. */
  notRequests: number | null
  minorClusters: number | null
  roles: RoleCounts | null
}

/** The reply to show as "best answer here": https://discord.com/channels/{guildId}/{channelId}/{messageId}. */
export interface BestAnswer {
  /** The tenant id. */
  guildId: string
  channelId: string
  messageId: string
  /** The ask it answers. */
  questionId: string
  authorId: string
  /** The asker acknowledged it. */
  acknowledged: boolean
}

export interface Cluster {
  id: number
  /** A short title, when the analysis produced one. */
  title: string | null
  representative: string
  samples: string[]
  /** Messages in the cluster (duplicates count). */
  size: number
  /** Unique questions in the cluster. */
  questionCount: number
  keywords: string[]
  /** Distinct members who asked: the cluster's weight. null: unknown. */
  askers: number | null
  /** 0..1, 4 decimals. */
  unansweredRate: number
  /** 0..1, 4 decimals; null: unknown. */
  resolvedRate: number | null
  /** null: no answer (or unknown, when askers is null). */
  bestAnswer: BestAnswer | null
  messageIds: string[]
}

export interface MonthAnalysis {
  month: Month
  analyzedAt: string
  stats: MonthStats
  /** Ranked by distinct askers, then size. */
  clusters: Cluster[]
  /** Clusters with fewer distinct askers than the analysis' minAskers, listed apart. */
  minorClusters: Cluster[]
}

/** questions.json, format version 2. */
export interface QuestionsJson {
  version: 2
  tenantId: string
  generatedAt: string
  /** Analysed months, oldest first. */
  months: Month[]
  /** One entry per month in `months`, keyed by month. */
  analyses: Record<Month, MonthAnalysis>
}

// Format version 1: before asks, askers and answers were counted.
export type StatsV1 = Pick<MonthStats, 'messages' | 'questions' | 'clusters' | 'unclustered' | 'duplicates'>
export type ClusterV1 = Omit<Cluster, 'title' | 'askers' | 'resolvedRate' | 'bestAnswer'> & { title?: string | null }
export interface MonthAnalysisV1 {
  month: Month
  analyzedAt: string
  stats: StatsV1
  clusters: ClusterV1[]
}
export interface QuestionsJsonV1 {
  version: 1
  tenantId: string
  generatedAt: string
  months: Month[]
  analyses: Record<Month, MonthAnalysisV1>
}
