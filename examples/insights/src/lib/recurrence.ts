// Which clusters recur across months.
//
// Rule (also in README.md): a cluster A of the selected month matches a cluster B of another
// month when
//   1. both have a non-empty title and the titles are equal after normalising (Unicode NFKC,
//      lower case, collapsed white space, trailing punctuation dropped); or, when either has
//      no title,
//   2. the representative questions are equal after the same normalising, or
//   3. the keyword sets (normalised the same way) have a Jaccard similarity ≥ 0.5.
// A cluster matches at most one cluster per month: the best by rule (1 > 2 > 3), then by
// Jaccard, then by size. Clusters with titles are never matched by keywords to one another
// when the titles differ: differing titles mean the analysis named them differently.
// "New this month": the cluster matches nothing in the previous analysed month. The oldest
// month has no previous month, so nothing is marked there.

import type { Cluster, Month, QuestionAnalysisData } from './data'

export const KEYWORD_JACCARD_MIN = 0.5

export function normalise(s: string): string {
  return s
    .normalize('NFKC')
    .toLocaleLowerCase()
    .replace(/\s+/gu, ' ')
    .replace(/[\s?？!！.。,，:：;；…]+$/u, '')
    .trim()
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0
  let inter = 0
  for (const x of a) if (b.has(x)) inter++
  return inter / (a.size + b.size - inter)
}

interface Indexed {
  cluster: Cluster
  title: string
  rep: string
  keywords: Set<string>
}

interface MonthIndex {
  items: Indexed[]
  byTitle: Map<string, Indexed[]>
  byRep: Map<string, Indexed[]>
  byKeyword: Map<string, Indexed[]>
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const l = m.get(k)
  if (l) l.push(v)
  else m.set(k, [v])
}

function indexCluster(c: Cluster): Indexed {
  return {
    cluster: c,
    title: c.title ? normalise(c.title) : '',
    rep: normalise(c.representative),
    keywords: new Set(c.keywords.map(normalise).filter((k) => k !== '')),
  }
}

function indexMonth(clusters: Cluster[]): MonthIndex {
  const idx: MonthIndex = { items: [], byTitle: new Map(), byRep: new Map(), byKeyword: new Map() }
  for (const c of clusters) {
    const it = indexCluster(c)
    idx.items.push(it)
    if (it.title) push(idx.byTitle, it.title, it)
    if (it.rep) push(idx.byRep, it.rep, it)
    for (const k of it.keywords) push(idx.byKeyword, k, it)
  }
  return idx
}

/** The best match of `c` among a month's clusters, or null. */
function bestMatch(a: Indexed, idx: MonthIndex): Cluster | null {
  let best: { it: Indexed; rank: number; score: number } | null = null
  const consider = (it: Indexed, rank: number, score: number) => {
    if (
      !best ||
      rank > best.rank ||
      (rank === best.rank && (score > best.score || (score === best.score && it.cluster.size > best.it.cluster.size)))
    )
      best = { it, rank, score }
  }
  if (a.title) for (const it of idx.byTitle.get(a.title) ?? []) consider(it, 3, 1)
  const untitledPair = (it: Indexed) => !(a.title && it.title)
  for (const it of idx.byRep.get(a.rep) ?? []) if (untitledPair(it)) consider(it, 2, 1)
  const seen = new Set<Indexed>()
  for (const k of a.keywords)
    for (const it of idx.byKeyword.get(k) ?? []) {
      if (seen.has(it)) continue
      seen.add(it)
      if (!untitledPair(it)) continue
      const s = jaccard(a.keywords, it.keywords)
      if (s >= KEYWORD_JACCARD_MIN) consider(it, 1, s)
    }
  return best ? (best as { it: Indexed }).it.cluster : null
}

export interface ClusterTrend {
  /** Every analysed month, oldest first, with the matched cluster's size there (0: no match). */
  points: { month: Month; size: number }[]
  /** Matched in at least one other month. */
  recurring: boolean
  /** No match in the previous analysed month (false in the oldest month). */
  isNew: boolean
}

/**
 * A function giving the trend of a cluster of `month`. `months` are the analysed months,
 * oldest first. The months' indexes are built once; trends are computed on demand (the page
 * asks only for the clusters it shows).
 */
export function createTrendFinder(data: QuestionAnalysisData, months: Month[], month: Month): (c: Cluster) => ClusterTrend {
  const pos = months.indexOf(month)
  const others = months.map((m) => (m === month ? null : indexMonth(data.analyses[m]?.clusters ?? [])))
  const cache = new Map<Cluster, ClusterTrend>()
  return (c) => {
    const hit = cache.get(c)
    if (hit) return hit
    const a = indexCluster(c)
    let matches = 0
    let inPrevious = false
    const points = months.map((m, i) => {
      if (i === pos) return { month: m, size: c.size }
      const idx = others[i]
      const match = idx ? bestMatch(a, idx) : null
      if (match) {
        matches++
        if (i === pos - 1) inPrevious = true
      }
      return { month: m, size: match ? match.size : 0 }
    })
    const trend = { points, recurring: matches > 0, isNew: pos > 0 && !inPrevious }
    cache.set(c, trend)
    return trend
  }
}

/** Trends of every cluster of `month`, keyed by cluster id. */
export function clusterTrends(data: QuestionAnalysisData, months: Month[], month: Month): Map<number, ClusterTrend> {
  const find = createTrendFinder(data, months, month)
  return new Map((data.analyses[month]?.clusters ?? []).map((c) => [c.id, find(c)]))
}
