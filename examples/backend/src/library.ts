/**
 * Loads question-insights' analyzeTenant. Types come from the published contract
 * (examples/schema/analyze-tenant-contract.d.ts); the module is the repository root by default,
 * or QI_LIBRARY. test/library-types.test.ts checks at compile time that the library's generated
 * index.d.ts accepts every call the backend makes.
 */
import type * as Contract from '../../schema/analyze-tenant-contract'

/** Makes keys K optional (and nullable where the library may leave them out). */
type Tolerant<T, K extends keyof T> = Omit<T, K> & { [P in K]?: T[P] | null }

/**
 * What the backend reads of analyzeTenant's result. It is tolerant where the generated index.d.ts
 * is looser than the contract (`source` typed as string, an unclustered `clusterId` left out) and
 * of a library from before asks (no askers, answers, roles, minorClusters: stored as null, exported
 * as unknown). The repository checks the values before storing them.
 */
export type AnalyzedQuestion = Tolerant<
  Omit<Contract.TenantQuestion, 'source'> & { source: string },
  'clusterId' | 'role' | 'conversationId' | 'resolved' | 'answer' | 'notRequest' | 'askers'
>
export type AnalyzedCluster = Tolerant<Contract.TenantCluster, 'title' | 'askers' | 'resolvedRate' | 'answered' | 'resolved' | 'bestAnswer'>
export type AnalyzedStats = Tolerant<
  Omit<Contract.TenantStats, 'timingsMs' | 'analyzed' | 'repeatedIds' | 'llmRequests'> & { timingsMs: Partial<Contract.StageTimings> },
  'roles' | 'asks' | 'conversations' | 'answered' | 'resolved' | 'notRequests' | 'minorClusters' | 'botMessages'
>
export type TenantAnalysis = Omit<Contract.TenantAnalysis, 'questions' | 'clusters' | 'minorClusters' | 'stats'> & {
  stats: AnalyzedStats
  questions: AnalyzedQuestion[]
  clusters: AnalyzedCluster[]
  minorClusters?: AnalyzedCluster[] | null
}

/** Progress; the backend takes any stage name (the generated d.ts types it as string). */
export type AnalyzeProgress = Omit<Contract.AnalyzeProgress, 'stage'> & { stage: string }
export type LlmOptions = Contract.LlmOptions

/** A library log line. The backend's handler takes any level (the generated d.ts types it as string). */
export type LibraryLogLine = Omit<Parameters<NonNullable<Contract.AnalyzeOptions['onLog']>>[0], 'level'> & { level: string }

export type AnalyzeOptions = Omit<Contract.AnalyzeOptions, 'onLog'> & { onLog?: (line: LibraryLogLine) => void }

/** A message as the backend passes it: absent thread/reply ids and names are left out (not null). */
export interface TenantMessage {
  id: string
  channelId: string
  authorId: string
  content: string
  /** ISO 8601, UTC. */
  timestamp: string
  threadId?: string
  replyToId?: string
  /** The author's display name ("bob: try …" is then said to bob). */
  authorName?: string
  /** Said by a bot or a webhook: never a member's ask, nor an answer. */
  authorIsBot?: boolean
}

/** analyzeTenant as the backend calls it: messages come from a pull function over keyset pages. */
export type AnalyzeTenant = (
  input: { tenantId: string; month: string; messages: () => Promise<TenantMessage[] | null>; options?: AnalyzeOptions },
  onProgress?: (p: AnalyzeProgress) => void,
) => Promise<TenantAnalysis>

// The backend's calls are calls the contract allows.
const backendCallsFitContract = (f: typeof Contract.analyzeTenant): AnalyzeTenant => f
void backendCallsFitContract

export function loadAnalyzeTenant(modulePath: string): AnalyzeTenant {
  let mod: { analyzeTenant?: unknown }
  try {
    mod = require(modulePath) as { analyzeTenant?: unknown }
  } catch (err) {
    throw new Error(`cannot load question-insights from ${modulePath} (build it first: npm run build at the repository root): ${(err as Error).message}`)
  }
  if (typeof mod.analyzeTenant !== 'function') {
    throw new Error(`${modulePath} does not export analyzeTenant: rebuild question-insights (npm run build at the repository root)`)
  }
  return mod.analyzeTenant as AnalyzeTenant
}
