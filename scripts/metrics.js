'use strict'
// Clustering agreement scores for two labelings of the same items: normalised mutual information
// (arithmetic mean, as scikit-learn's default), the adjusted Rand index, and the disentanglement
// scores Shen-F (Shen et al. 2006) and exact-match F1 of clusters (Kummerfeld et al. 2019);
// precision, recall and F1 of a yes/no prediction, and percentile-bootstrap intervals of any
// such score over groups of items (conversations: errors within one are not independent).

function contingency(a, b) {
  const table = new Map()
  const ca = new Map()
  const cb = new Map()
  for (let i = 0; i < a.length; i++) {
    const key = `${a[i]}\u0000${b[i]}`
    table.set(key, (table.get(key) || 0) + 1)
    // keyed by string, like the table, so that numeric labels look up alike
    ca.set(`${a[i]}`, (ca.get(`${a[i]}`) || 0) + 1)
    cb.set(`${b[i]}`, (cb.get(`${b[i]}`) || 0) + 1)
  }
  return { table, ca, cb, n: a.length }
}

function entropy(counts, n) {
  let h = 0
  for (const c of counts.values()) if (c > 0) h -= (c / n) * Math.log(c / n)
  return h
}

function nmi(a, b) {
  const { table, ca, cb, n } = contingency(a, b)
  let mi = 0
  for (const [key, nij] of table) {
    const [x, y] = key.split('\u0000')
    mi += (nij / n) * Math.log((n * nij) / (ca.get(x) * cb.get(y)))
  }
  const ha = entropy(ca, n)
  const hb = entropy(cb, n)
  if (ha === 0 && hb === 0) return 1
  return mi / ((ha + hb) / 2)
}

function ari(a, b) {
  const { table, ca, cb, n } = contingency(a, b)
  const c2 = (x) => (x * (x - 1)) / 2
  let sumIJ = 0
  for (const v of table.values()) sumIJ += c2(v)
  let sumA = 0
  for (const v of ca.values()) sumA += c2(v)
  let sumB = 0
  for (const v of cb.values()) sumB += c2(v)
  const expected = (sumA * sumB) / c2(n)
  const max = (sumA + sumB) / 2
  if (max === expected) return 1
  return (sumIJ - expected) / (max - expected)
}

/** Shen-F: each gold cluster's best F1 against any predicted cluster, weighted by its size. */
function shenF(gold, pred) {
  const { table, ca, cb, n } = contingency(gold, pred)
  const best = new Map()
  for (const [key, nij] of table) {
    const [g, p] = key.split('\u0000')
    const precision = nij / cb.get(p)
    const recall = nij / ca.get(g)
    const f = (2 * precision * recall) / (precision + recall)
    if (!(best.get(g) >= f)) best.set(g, f)
  }
  let total = 0
  for (const [g, size] of ca) total += (size / n) * best.get(g)
  return total
}

/** Exact-match F1: a predicted cluster counts when it holds exactly the items of a gold cluster. */
function exactF1(gold, pred) {
  const clusters = (labels) => {
    const groups = new Map()
    labels.forEach((l, i) => {
      if (!groups.has(l)) groups.set(l, [])
      groups.get(l).push(i)
    })
    return new Set([...groups.values()].map((g) => g.join(',')))
  }
  const g = clusters(gold)
  const p = clusters(pred)
  let matched = 0
  for (const c of p) if (g.has(c)) matched++
  if (matched === 0) return 0
  const precision = matched / p.size
  const recall = matched / g.size
  return (2 * precision * recall) / (precision + recall)
}

/** Precision, recall and F1 of `[predicted, gold]` boolean pairs (0 where undefined). */
function prf(pairs) {
  let tp = 0
  let fp = 0
  let fn = 0
  for (const [p, g] of pairs) {
    if (p && g) tp++
    else if (p) fp++
    else if (g) fn++
  }
  const precision = tp + fp ? tp / (tp + fp) : 0
  const recall = tp + fn ? tp / (tp + fn) : 0
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 }
}

/** A small seeded generator (mulberry32): the same intervals on every run. */
function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Percentile-bootstrap intervals of the scores `statistic(items)` returns (an object of
 * numbers): `groups` (arrays of items) are drawn with replacement, `draws` times, and each
 * score's `level` interval is read off the draws. Returns `{ name: [low, high] }`.
 */
function bootstrap(groups, statistic, { draws = 2000, level = 0.95, seed = 1 } = {}) {
  if (!groups.length) throw new Error('bootstrap: no groups')
  const next = random(seed)
  const samples = new Map()
  for (let d = 0; d < draws; d++) {
    const items = []
    for (let k = 0; k < groups.length; k++) items.push(...groups[Math.floor(next() * groups.length)])
    for (const [name, v] of Object.entries(statistic(items))) {
      if (!samples.has(name)) samples.set(name, [])
      samples.get(name).push(v)
    }
  }
  const tail = (1 - level) / 2
  const out = {}
  for (const [name, list] of samples) {
    list.sort((x, y) => x - y)
    const at = (q) => list[Math.min(list.length - 1, Math.max(0, Math.round(q * (list.length - 1))))]
    out[name] = [at(tail), at(1 - tail)]
  }
  return out
}

module.exports = { nmi, ari, shenF, exactF1, prf, bootstrap, random }
