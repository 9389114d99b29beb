/** A small, valid TenantAnalysis for repository and export tests (no model involved). */
import type { TenantAnalysis } from '../../src/library'

export function syntheticAnalysis(tenantId: string, month: string, opts: { clusters?: number; tag?: string } = {}): TenantAnalysis {
  const n = opts.clusters ?? 3
  const tag = opts.tag ?? 'v1'
  const clusters: TenantAnalysis['clusters'] = []
  const questions: TenantAnalysis['questions'] = []
  for (let c = 0; c < n; c++) {
    const size = (n - c) * 2 // largest first
    const qids: string[] = []
    const mids: string[] = []
    for (let k = 0; k < n - c; k++) {
      const qid = `${tenantId}-${month}-${tag}-c${c}-q${k}`
      qids.push(qid)
      mids.push(qid, `${qid}-dup`)
      questions.push({
        id: qid,
        messageIds: [qid, `${qid}-dup`],
        original: `how do I do thing ${c}.${k} (${tag})?`,
        extracted: `How do I do thing ${c}.${k}?`,
        source: k % 2 === 0 ? 'llm' : 'original',
        confidence: 0.9,
        authorId: `u${k}`,
        channelId: 'c-general',
        timestamp: `${month}-0${1 + (k % 9)}T10:00:00.000Z`,
        contextMessageIds: k === 0 ? [`${qid}-ctx`] : [],
        answered: k % 2 === 1,
        clusterId: c,
      })
    }
    clusters.push({
      id: c,
      size,
      representative: `How do I do thing ${c}.0?`,
      representativeQuestionId: qids[0]!,
      samples: qids.slice(0, 2).map((_, k) => `How do I do thing ${c}.${k}?`),
      memberQuestionIds: qids,
      messageIds: mids,
      cohesion: 0.8,
      title: c === 0 ? `Thing ${c} (${tag})` : null,
      keywords: ['thing', `topic${c}`],
      unansweredRate: 0.5,
    })
  }
  questions.push({
    id: `${tenantId}-${month}-${tag}-lonely`,
    messageIds: [`${tenantId}-${month}-${tag}-lonely`],
    original: 'anyone around?',
    extracted: 'anyone around?',
    source: 'original',
    confidence: 0.75,
    authorId: 'u9',
    channelId: 'c-general',
    timestamp: `${month}-15T12:00:00.000Z`,
    contextMessageIds: [],
    answered: false,
  })
  return {
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
      timingsMs: { classify: 1, context: 1, extract: 1, embed: 1, dedupe: 1, cluster: 1, total: 6 },
      peakRssBytes: 1,
      warnings: [],
    },
    classifications: [],
    questions,
    clusters,
  }
}
