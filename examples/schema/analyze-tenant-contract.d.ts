// The contract of question-insights' analyzeTenant() that the reference backend codes against.
// The library's generated index.d.ts is the authority; this file is kept in step with it, and
// examples/backend/test/library-types.test.ts fails to compile when the result types or the
// progress of the two differ, or when index.d.ts no longer accepts the backend's calls.

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
  stage: 'classify' | 'conversations' | 'asks' | 'extract' | 'embed' | 'dedupe' | 'cluster' | 'keywords' | 'done'
  done: number
  total: number
  /** Overall percent, 0–100. */
  percent: number
  tenantId: string
}

/** The reply that answered an ask; link it as discord.com/channels/{tenant}/{channelId}/{messageId}. */
export interface AnswerLink {
  messageId: string
  channelId: string
  authorId: string
  /** The asker acknowledged it ("thanks, that worked") or a ✅ marks it; else the first substantial reply. */
  acknowledged: boolean
}

export interface BestAnswer {
  /** The cluster's question it answered. */
  questionId: string
  messageId: string
  channelId: string
  authorId: string
  acknowledged: boolean
}

export interface RoleCounts {
  ask: number
  clarification: number
  backchannel: number
  other: number
}

export interface StageTimings {
  classify: number
  conversations: number
  asks: number
  extract: number
  embed: number
  dedupe: number
  cluster: number
  keywords: number
  total: number
}

export interface RejectedMessage {
  /** Position in the input, across pages. */
  index: number
  id?: string
  reason: string
}

export interface TenantStats {
  /** Messages received (all pages), including rejected ones and repeated ids. */
  messages: number
  /** Distinct valid messages analysed. */
  analyzed: number
  repeatedIds: number
  /** Question-like messages (P(question) ≥ threshold). */
  questions: number
  /** Messages clustered: the asks, or with `questions: 'all'` every question-like message. */
  asks: number
  /** Candidates (question-like messages and conversation openings) per role. */
  roles: RoleCounts
  conversations: number
  /** Of the clustered messages: someone else replied in the conversation. */
  answered: number
  /** Of the clustered messages: the asker acknowledged an answer, or a ✅ or solved tag. */
  resolved: number
  /** Messages the LLM said are not requests for help (left out of the clusters). */
  notRequests: number
  /** Questions the LLM rewrote. */
  extracted: number
  llmFallbacks: number
  skippedExtraction: number
  llmRequests: number
  duplicates: number
  clusters: number
  minorClusters: number
  unclustered: number
  rejected: RejectedMessage[]
  timingsMs: StageTimings
  /** Peak resident memory of the process so far. */
  peakRssBytes: number
  warnings: string[]
}

export interface TenantQuestion {
  /** The id of the question's message (the kept one of a duplicate group). */
  id: string
  /** Its message and those of its duplicates. */
  messageIds: string[]
  original: string
  extracted: string
  source: 'llm' | 'original'
  confidence: number
  /** The part it plays in its conversation (null: question-like, but no candidate). */
  role?: 'ask' | 'clarification' | 'backchannel' | 'other' | null
  authorId: string
  channelId: string
  /** ISO 8601, UTC. */
  timestamp: string
  /** The id of its conversation's first message. */
  conversationId: string
  /** The rest of the asker's turn: their messages around it before someone else spoke. */
  contextMessageIds: string[]
  /** Someone other than the asker replied in the conversation. */
  answered: boolean
  /** The asker acknowledged an answer, or a ✅ reaction or solved tag says so. */
  resolved: boolean
  answer?: AnswerLink | null
  /** The LLM said it is not a request for help; it is left out of the clusters. */
  notRequest: boolean
  /** Distinct authors of it and its duplicates. */
  askers: number
  /** The `id` of its cluster (in `clusters` or `minorClusters`), or null when unclustered. */
  clusterId: number | null
}

export interface TenantCluster {
  id: number
  /** Distinct members who asked: clusters are ranked by it, then by size. */
  askers: number
  /** Messages in the cluster (duplicates count). */
  size: number
  representative: string
  representativeQuestionId: string
  samples: string[]
  memberQuestionIds: string[]
  messageIds: string[]
  cohesion: number
  /** A short LLM title, when an API key is configured. */
  title?: string
  keywords: string[]
  /** Share of the cluster's asks (duplicates count) that nobody else replied to, 4 decimals. */
  unansweredRate: number
  /** Share of the cluster's asks that the asker marked resolved, 4 decimals. */
  resolvedRate: number
  answered: number
  resolved: number
  /** The answer to show ("asked 14 times, best answer here"): an acknowledged one, else the first answer. */
  bestAnswer?: BestAnswer | null
}

export interface TenantAnalysis {
  tenantId: string
  month: string
  stats: TenantStats
  classifications: Array<{ messageId: string; isQuestion: boolean; confidence: number }>
  questions: TenantQuestion[]
  /** Asked by at least `minAskers` distinct members; most askers first. */
  clusters: TenantCluster[]
  /** Asked by fewer than `minAskers` distinct members: listed apart, not dropped. */
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
