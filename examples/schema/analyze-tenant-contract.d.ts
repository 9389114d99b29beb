// The contract of question-insights' analyzeTenant() that the reference backend codes against.
// Generated from index.d.ts by scripts/gen-contract.js (run by `npm run build` and checked by
// `npm run lint`); do not edit by hand.

export interface AnalyzeLogLine {
  level: 'info' | 'warn' | 'error'
  message: string
  stage: string
  tenantId: string
  correlationId?: string
}

export interface AnalyzeOptions {
  /** Messages per classification batch (default 1000, at most 1000000). */
  batchSize?: number
  /** Question threshold (default 0.7). */
  threshold?: number
  /** What is clustered: the asks (default), or every question-like message. */
  questions?: 'asks' | 'all'
  /** Clusters asked by fewer distinct members go to `minorClusters` (default 2). */
  minAskers?: number
  /**
   * With an LLM key: candidates the ask detector puts below its threshold but gives at least
   * this P(ask) go to the LLM as well, and count as asks when it rewrites them as a request for
   * help (default 0.2; 1 turns the review off). Only with `questions: 'asks'`.
   */
  askReview?: number
  /** Return every message's classification, not only the questions' (default false). */
  includeAllClassifications?: boolean
  /** Let the lexical stage decide clear cases without the encoder (default true). */
  cascade?: boolean
  /** Tokens of a message the classifier's encoder sees (default 48). */
  maxTokens?: number
  llm?: LlmOptions
  /** Keep questions with no context and high confidence as they are (default true). */
  skipSelfContained?: boolean
  /** Confidence from which a question without context counts as self-contained (default 0.9). */
  selfContainedMinConfidence?: number
  /** Questions packed into one request (default 1). */
  questionsPerRequest?: number
  /** Options of the dedupe, embedding and clustering stages (as for `cluster()`). */
  cluster?: ClusterCallOptions
  /** Aborts the analysis: the promise rejects with an error named 'AbortError'. */
  signal?: AbortSignal
  /** Carried by every log line the library emits (e.g. the job's correlation id). */
  correlationId?: string
  /** Receives the library's log lines on the JS thread. */
  onLog?: (line: AnalyzeLogLine) => void
}

export interface AnalyzeProgress {
  stage: 'classify' | 'conversations' | 'asks' | 'extract' | 'embed' | 'dedupe' | 'cluster' | 'keywords' | 'done'
  done: number
  total: number
  /** Overall percent, 0–100. */
  percent: number
  tenantId: string
  /**
   * Why the stage stands still, when it does: "waiting for the LLM provider (breaker open,
   * retry in 12 s)" or "(rate limited, retry in 2 s)".
   */
  waiting?: string
}

/**
 * Analyses one tenant's month: classify → conversations → asks → extract → dedupe → cluster,
 * with keywords, titles and answered rates. Messages may be streamed page by page; bad messages
 * are reported in `stats.rejected` and never stop the tenant. `onProgress` runs on the JS
 * thread at most every 250 ms and at each stage change.
 */
export declare function analyzeTenant(input: AnalyzeTenantInput, onProgress?: (progress: AnalyzeProgress) => void): Promise<TenantAnalysis>

export interface AnalyzeTenantInput {
  tenantId: string
  /** `YYYY-MM`. */
  month: string
  /**
   * An array, an async iterable of pages (arrays), or a function returning a Promise of the
   * next page, or of null when done.
   */
  messages: TenantMessage[] | AsyncIterable<TenantMessage[]> | (() => Promise<TenantMessage[] | null | undefined>)
  options?: AnalyzeOptions
}

/** The reply that answered an ask; link it as discord.com/channels/{tenant}/{channelId}/{messageId}. */
export interface AnswerLink {
  messageId: string
  channelId: string
  authorId: string
  /**
   * The asker acknowledged it ("thanks, that worked") or a ✅ marks it; otherwise it is the
   * first substantial reply said to the asker (or, where the channel's people do not name whom
   * they answer, or in a thread, one that follows on from the asker's words).
   */
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

export interface ClusterCallOptions {
  /** Merge near-duplicates first (default true). */
  dedupe?: boolean
  /** Cosine at or above which questions are duplicates (default 0.95). */
  duplicateThreshold?: number
  /** `'ward'` (default), `'average'`, `'complete'` or `'single'`. */
  linkage?: 'ward' | 'average' | 'complete' | 'single'
  /** Height at which the dendrogram is cut (default 2.1 for Ward, 1.0 otherwise). */
  distanceThreshold?: number
  /** Ward only: never merge groups whose centroids are farther apart than this (default 1.1). */
  maxCentroidDistance?: number
  /**
   * Ward only: never make a group less cohesive than this, the mean cosine of its members to
   * their normalised centroid (default 0.675).
   */
  minCohesion?: number
  /** Groups smaller than this, counting duplicates, are returned as unclustered (default 2). */
  minClusterSize?: number
  /** Samples per cluster (default 5). */
  maxSamples?: number
  /** Above this many unique questions, cluster in two stages (default 20000). */
  directLimit?: number
  maxTokens?: number
  batchSize?: number
  /**
   * `'int8'` (default: integer kernels, one scale per token) or `'fp32'` (the model's
   * reference arithmetic, slower; the vectors agree to a cosine of about 0.99).
   */
  precision?: 'int8' | 'fp32'
}

export interface LlmOptions {
  /** Default `$OPENROUTER_API_KEY`. Without a key nothing is sent and originals are kept. */
  apiKey?: string
  /** Default `$LLM_BASE_URL`, else https://openrouter.ai/api/v1 (any OpenAI-compatible server). */
  baseUrl?: string
  /** Default `$LLM_MODEL`, else google/gemini-3.5-flash. */
  model?: string
  /** Tried in order when the model fails; also sent as OpenRouter's `models` list. */
  fallbackModels?: Array<string>
  /** Per request (default 30000). */
  timeoutMs?: number
  /** Retries per model (default 3). */
  maxRetries?: number
  /** Requests in flight (default 20). */
  concurrency?: number
  /** Default unlimited. */
  requestsPerMinute?: number
  /** Circuit breaker window: the last N calls (default 50) ... */
  breakerWindow?: number
  /** ... no older than this (default 60000). */
  breakerWindowMs?: number
  /** Calls in the window before the breaker may open (default 20). */
  breakerMinCalls?: number
  /**
   * Share of failed calls (timeouts, 5xx, unparsable answers; not 429s) in the window
   * that opens the breaker, in (0, 1] (default 0.5).
   */
  breakerFailureRate?: number
  /** How long the open breaker waits before one trial request (default 30000). */
  breakerCooldownMs?: number
  /** First step of the exponential backoff between retries (default 500). */
  backoffBaseMs?: number
  /**
   * Deadline of the whole call: items wait for an unavailable provider (open breaker,
   * Retry-After) until then, and the rest keep their original text. Default 600000 for
   * `extract`, 1800000 for `analyzeTenant`.
   */
  deadlineMs?: number
}

export interface RejectedMessage {
  /** Position in the input, across pages. */
  index: number
  id?: string
  reason: string
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
  /**
   * The encoder's busy time over the asks. It starts during `extract` (on each ask as soon as
   * its text is known), so stages overlap and do not add up to `total`.
   */
  embed: number
  /** How long the pipeline waited for the encoder after `extract` ended. */
  embedWait: number
  dedupe: number
  cluster: number
  keywords: number
  total: number
}

export interface TenantAnalysis {
  tenantId: string
  month: string
  stats: TenantStats
  classifications: Array<TenantClassification>
  questions: Array<TenantQuestion>
  /** Asked by at least `minAskers` distinct members; most askers first. */
  clusters: Array<TenantCluster>
  /** Asked by fewer than `minAskers` distinct members: listed apart, not dropped. */
  minorClusters: Array<TenantCluster>
}

export interface TenantClassification {
  messageId: string
  isQuestion: boolean
  confidence: number
}

export interface TenantCluster {
  id: number
  /** Distinct members who asked: clusters are ranked by it, then by size. */
  askers: number
  /** Messages in the cluster (duplicates count). */
  size: number
  /**
   * The member that shows what the cluster asks: of those that name a topic, an ask the
   * detector is surest of (P(ask) ≥ 0.9) where there is one, nearest the centroid.
   */
  representative: string
  representativeQuestionId: string
  /** Members in the same order as `memberQuestionIds`, the representative first. */
  samples: Array<string>
  /**
   * The page's order: members that name a topic (the surest asks first), then the others;
   * each group nearest the centroid first.
   */
  memberQuestionIds: Array<string>
  messageIds: Array<string>
  cohesion: number
  /** A short LLM title, when an API key is configured. */
  title?: string
  keywords: Array<string>
  /** Share of the cluster's asks (duplicates count) that nobody else replied to, 4 decimals. */
  unansweredRate: number
  /** Share of the cluster's asks that the asker marked resolved, 4 decimals. */
  resolvedRate: number
  answered: number
  resolved: number
  /**
   * The answer to show ("asked 14 times, best answer here"): an acknowledged one nearest the
   * centroid, else the first answer.
   */
  bestAnswer: BestAnswer | null
}

export interface TenantMessage {
  id: string
  channelId: string
  authorId: string
  content: string
  /** ISO 8601 string (no zone = UTC), epoch milliseconds, or Date. */
  timestamp: string | number | Date
  threadId?: string | null
  replyToId?: string | null
  /** The author's display name: "bob: try …" is then known to be said to bob. */
  authorName?: string | null
  /**
   * Said by a bot or a webhook (Discord's `author.bot`): kept and counted
   * (`stats.botMessages`), never a question, an ask or an answer. Leave it unset for a bridge
   * that relays members' messages through a webhook (Matrix, IRC, Slack).
   */
  authorIsBot?: boolean | null
  /** Author ids it mentions, beside Discord's `<@id>` in `content`. */
  mentions?: Array<string | { id: string }> | null
  /**
   * Reactions (emoji names, or DiscordChatExporter's `{emoji: {name}}`): a ✅ on a reply marks
   * the ask resolved.
   */
  reactions?: Array<string | { emoji: { name: string } } | { name: string }> | null
  /** Forum post tags (names or `{name}`; also `appliedTags`): "solved" marks it resolved. */
  tags?: Array<string | { name: string }> | null
}

export interface TenantQuestion {
  /** The id of the question's message (the kept one of a duplicate group). */
  id: string
  /** Its message and those of its duplicates. */
  messageIds: Array<string>
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
  contextMessageIds: Array<string>
  /** Someone other than the asker replied in the conversation. */
  answered: boolean
  /** The asker acknowledged an answer, or a ✅ reaction or solved tag says so. */
  resolved: boolean
  answer: AnswerLink | null
  /** The LLM said it is not a request for help; it is left out of the clusters. */
  notRequest: boolean
  /** Distinct authors of it and its duplicates. */
  askers: number
  /** The `id` of its cluster (in `clusters` or `minorClusters`), or null when unclustered. */
  clusterId: number | null
}

export interface TenantStats {
  /** Messages received (all pages), including rejected ones and repeated ids. */
  messages: number
  /** Distinct valid messages analysed. */
  analyzed: number
  repeatedIds: number
  /**
   * Of the analysed messages: said by a bot (`authorIsBot`), so never a question, an ask or
   * an answer.
   */
  botMessages: number
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
  rejected: Array<RejectedMessage>
  timingsMs: StageTimings
  /** Peak resident memory of the process so far. */
  peakRssBytes: number
  warnings: Array<string>
}
