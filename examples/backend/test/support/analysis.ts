/** A small, valid TenantAnalysis for repository and export tests (no model involved). */
import type { AnalyzedCluster, AnalyzedQuestion, TenantAnalysis } from '../../src/library'

export interface SyntheticOptions {
  /** Clusters with ≥ 2 askers (default 3); one minor cluster (a single asker) comes on top. */
  clusters?: number
  tag?: string
  /** The shape of a library from before asks: no askers, answers, roles or minor clusters. */
  legacy?: boolean
}

/**
 * Cluster c (0 = the most askers) has n - c questions by n - c distinct authors, each asked twice
 * (size 2 (n - c)). Cluster 0's best answer was acknowledged by its asker, cluster 1's was not,
 * the others have none. Rates are thirds, so that the export's rounding to 4 decimals shows.
 */
export function syntheticAnalysis(tenantId: string, month: string, opts: SyntheticOptions = {}): TenantAnalysis {
  const n = opts.clusters ?? 3
  const tag = opts.tag ?? 'v1'
  const clusters: AnalyzedCluster[] = []
  const questions: AnalyzedQuestion[] = []
  const qid = (c: number | string, k: number) => `${tenantId}-${month}-${tag}-c${c}-q${k}`
  const question = (id: string, k: number, clusterId: number | null, answered: boolean, resolved: boolean): AnalyzedQuestion => ({
    id,
    messageIds: [id, `${id}-dup`],
    original: `how do I do thing ${id} (${tag})?`,
    extracted: `How do I do thing ${id}?`,
    source: k % 2 === 0 ? 'llm' : 'original',
    confidence: 0.9,
    authorId: `u${k}`,
    channelId: 'c-general',
    timestamp: `${month}-0${1 + (k % 9)}T10:00:00.000Z`,
    contextMessageIds: k === 0 ? [`${id}-ctx`] : [],
    answered,
    clusterId,
    role: 'ask',
    conversationId: `${id}-conv`,
    resolved,
    answer: answered ? { messageId: `${id}-answer`, channelId: 'c-general', authorId: 'helper', acknowledged: resolved } : null,
    notRequest: false,
    askers: 1,
  })
  for (let c = 0; c < n; c++) {
    const qids: string[] = []
    const mids: string[] = []
    for (let k = 0; k < n - c; k++) {
      const id = qid(c, k)
      qids.push(id)
      mids.push(id, `${id}-dup`)
      questions.push(question(id, k, c, c < 2 && k === 0, c === 0 && k === 0))
    }
    const asks = 2 * (n - c)
    clusters.push({
      id: c,
      size: asks,
      askers: n - c,
      representative: `How do I do thing ${qids[0]}?`,
      representativeQuestionId: qids[0]!,
      samples: qids.slice(0, 2).map((id) => `How do I do thing ${id}?`),
      memberQuestionIds: qids,
      messageIds: mids,
      cohesion: 0.8,
      title: c === 0 ? `Thing ${c} (${tag})` : null,
      keywords: ['thing', `topic${c}`],
      unansweredRate: c < 2 ? 2 / 3 : 1,
      resolvedRate: c === 0 ? 1 / 3 : 0,
      answered: c < 2 ? 1 : 0,
      resolved: c === 0 ? 1 : 0,
      bestAnswer:
        c < 2 ? { questionId: qids[0]!, messageId: `${qids[0]}-answer`, channelId: 'c-general', authorId: 'helper', acknowledged: c === 0 } : null,
    })
  }
  // One member asking the same thing twice: a minor cluster (fewer than minAskers = 2 askers).
  const minorId = qid('m', 7)
  questions.push(question(minorId, 7, n, false, false))
  const minorClusters: AnalyzedCluster[] = [
    {
      id: n,
      size: 2,
      askers: 1,
      representative: `How do I do thing ${minorId}?`,
      representativeQuestionId: minorId,
      samples: [`How do I do thing ${minorId}?`],
      memberQuestionIds: [minorId],
      messageIds: [minorId, `${minorId}-dup`],
      cohesion: 0.9,
      title: null,
      keywords: ['minor'],
      unansweredRate: 1,
      resolvedRate: 0,
      answered: 0,
      resolved: 0,
      bestAnswer: null,
    },
  ]
  questions.push({ ...question(`${tenantId}-${month}-${tag}-lonely`, 9, null, false, false), messageIds: [`${tenantId}-${month}-${tag}-lonely`] })
  questions.push({ ...question(`${tenantId}-${month}-${tag}-notrequest`, 8, null, false, false), notRequest: true, role: 'other' })
  const asks = questions.filter((q) => q.role === 'ask').length
  const analysis: TenantAnalysis = {
    tenantId,
    month,
    stats: {
      messages: 100,
      questions: questions.length,
      extracted: 5,
      llmFallbacks: 0,
      skippedExtraction: 1,
      duplicates: questions.length - 1,
      clusters: n,
      unclustered: 1,
      rejected: [],
      timingsMs: { classify: 1, conversations: 1, asks: 1, extract: 1, embed: 1, embedWait: 1, dedupe: 1, cluster: 1, keywords: 1, total: 8 },
      peakRssBytes: 1,
      warnings: [],
      roles: { ask: asks, clarification: 3, backchannel: 2, other: 1 },
      asks,
      conversations: asks + 2,
      answered: 2,
      resolved: 1,
      notRequests: 1,
      minorClusters: 1,
    },
    classifications: [],
    questions,
    clusters,
    minorClusters,
  }
  return opts.legacy ? legacyShape(analysis) : analysis
}

/** What a library from before asks returned: the same analysis without the new fields. */
export function legacyShape(a: TenantAnalysis): TenantAnalysis {
  const strip = <T extends object>(o: T, keys: string[]): T => {
    const copy = { ...o } as Record<string, unknown>
    for (const k of keys) delete copy[k]
    return copy as T
  }
  const clusters = [...a.clusters, ...(a.minorClusters ?? [])]
  return {
    ...strip(a, ['minorClusters']),
    stats: { ...strip(a.stats, ['roles', 'asks', 'conversations', 'answered', 'resolved', 'notRequests', 'minorClusters']), clusters: clusters.length },
    clusters: clusters.map((c) => strip(c, ['askers', 'resolvedRate', 'answered', 'resolved', 'bestAnswer'])),
    questions: a.questions.filter((q) => !q.notRequest).map((q) => strip(q, ['role', 'conversationId', 'resolved', 'answer', 'notRequest', 'askers'])),
  }
}
