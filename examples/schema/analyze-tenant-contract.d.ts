// The contract of question-insights' analyzeTenant() that the reference backend codes against.
// The library's generated index.d.ts is the authority once analyzeTenant lands; this file is
// kept in step with it.

export interface TenantMessage {
  id: string
  channelId: string
  authorId: string
  content: string
  /** ISO 8601 string, epoch milliseconds, or Date. */
  timestamp: string | number | Date
  threadId?: string | null
  replyToId?: string | null
}

export interface LlmOptions {
  /** Default: $OPENROUTER_API_KEY. Without a key, extraction keeps the original questions. */
  apiKey?: string
  /** Default: $LLM_BASE_URL or https://openrouter.ai/api/v1 (any OpenAI-compatible server). */
  baseUrl?: string
  /** Default: $LLM_MODEL or google/gemini-2.0-flash-exp. */
  model?: string
  fallbackModels?: string[]
  timeoutMs?: number
  maxRetries?: number
  concurrency?: number
  requestsPerMinute?: number
}

export interface AnalyzeOptions {
  /** Messages per classification batch (default 1000). */
  batchSize?: number
  /** Question threshold (default 0.7). */
  threshold?: number
  /** ±window of the same author's context messages (default 120000 ms). */
  contextWindowMs?: number
  /** A question counts as answered when another author replies within this window (default 3600000 ms). */
  answeredWindowMs?: number
  /** Return every message's classification, not only the questions' (default false). */
  includeAllClassifications?: boolean
  llm?: LlmOptions
  skipSelfContained?: boolean
  questionsPerRequest?: number
  /** Which questions are clustered: only asks (default), or every question-like message. */
  questions?: 'asks' | 'all'
  /** Clusters with fewer distinct askers are listed apart in `minorClusters` (default 2). */
  minAskers?: number
  /** Options of the clustering stage (see ClusterCallOptions in index.d.ts). */
  cluster?: Record<string, unknown>
  /** Aborts the analysis: the promise rejects with an error named 'AbortError'. */
  signal?: AbortSignal
  /** Carried by every log line the library emits (e.g. the BullMQ job's correlation id). */
  correlationId?: string
  /** Receives the library's log lines on the JS thread. */
  onLog?: (line: { level: 'info' | 'warn' | 'error'; message: string; tenantId: string; correlationId?: string; stage?: string }) => void
}

export interface AnalyzeProgress {
  stage: 'classify' | 'context' | 'extract' | 'embed' | 'dedupe' | 'cluster' | 'keywords' | 'done'
  done: number
  total: number
  /** Overall percent, 0–100. */
  percent: number
  tenantId: string
}

/** The part a question-like message plays in its conversation. */
export type QuestionRole = 'ask' | 'clarification' | 'backchannel' | 'other'

/** A reply by someone other than the asker. */
export interface TenantAnswer {
  messageId: string
  channelId: string
  authorId: string
  /** The asker acknowledged it ("thanks, that worked", a "solved" reaction or tag). */
  acknowledged: boolean
}

export interface TenantStats {
  messages: number
  questions: number
  extracted: number
  llmFallbacks: number
  skippedExtraction: number
  duplicates: number
  /** Clusters, minor ones not included. */
  clusters: number
  unclustered: number
  rejected: Array<{ index: number; id?: string; reason: string }>
  timingsMs: { classify: number; context: number; extract: number; embed: number; dedupe: number; cluster: number; total: number }
  peakRssBytes: number
  warnings: string[]
  /** Question-like messages per role. */
  roles: { ask: number; clarification: number; backchannel: number; other: number }
  asks: number
  conversations: number
  /** Asks whose conversation got a reply from someone other than the asker. */
  answered: number
  /** Asks whose asker acknowledged an answer. */
  resolved: number
  /** Items the LLM said are not a request for help (left out of the clusters). */
  notRequests: number
  minorClusters: number
}

export interface TenantQuestion {
  id: string
  messageIds: string[]
  original: string
  extracted: string
  source: 'llm' | 'original'
  confidence: number
  authorId: string
  channelId: string
  /** ISO 8601, UTC. */
  timestamp: string
  /** The asker's opening turn. */
  contextMessageIds: string[]
  answered: boolean
  /** The id of a cluster in `clusters` or `minorClusters`, or null when unclustered. */
  clusterId: number | null
  role: QuestionRole
  conversationId: string
  resolved: boolean
  answer: TenantAnswer | null
  /** The LLM said it is not a request for help: excluded from clusters. */
  notRequest: boolean
}

export interface TenantBestAnswer extends TenantAnswer {
  /** The member question (ask) it answers. */
  questionId: string
}

export interface TenantCluster {
  id: number
  /** Messages in the cluster (duplicates count). */
  size: number
  /** Distinct askers: the cluster's weight (clusters are ranked by it, then by size). */
  askers: number
  representative: string
  representativeQuestionId: string
  samples: string[]
  memberQuestionIds: string[]
  messageIds: string[]
  cohesion: number
  title?: string | null
  keywords: string[]
  /** Share of the cluster's asks whose conversation got no reply from anyone else (4 decimals). */
  unansweredRate: number
  /** Share of the cluster's asks whose asker acknowledged an answer (4 decimals). */
  resolvedRate: number
  answered: number
  resolved: number
  /** The reply to show as "best answer here": one the asker acknowledged, else the first substantial one. */
  bestAnswer: TenantBestAnswer | null
}

export interface TenantAnalysis {
  tenantId: string
  month: string
  stats: TenantStats
  classifications: Array<{ messageId: string; isQuestion: boolean; confidence: number }>
  questions: TenantQuestion[]
  /** Clusters with at least minAskers distinct askers, ranked by askers, then size. */
  clusters: TenantCluster[]
  /** Clusters with fewer than minAskers distinct askers, listed apart (same order). */
  minorClusters: TenantCluster[]
}

/**
 * messages: an array, an async iterable of arrays (pages), or a pull function returning the
 * next page or null when done.
 */
export declare function analyzeTenant(
  input: {
    tenantId: string
    month: string
    messages: TenantMessage[] | AsyncIterable<TenantMessage[]> | (() => Promise<TenantMessage[] | null>)
    options?: AnalyzeOptions
  },
  onProgress?: (p: AnalyzeProgress) => void,
): Promise<TenantAnalysis>
