'use strict'
// Clustering agreement scores: normalised mutual information (arithmetic mean, as scikit-learn's
// default) and the adjusted Rand index, for two labelings of the same items.

function contingency(a, b) {
  const table = new Map()
  const ca = new Map()
  const cb = new Map()
  for (let i = 0; i < a.length; i++) {
    const key = `${a[i]}\u0000${b[i]}`
    table.set(key, (table.get(key) || 0) + 1)
    ca.set(a[i], (ca.get(a[i]) || 0) + 1)
    cb.set(b[i], (cb.get(b[i]) || 0) + 1)
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

module.exports = { nmi, ari }
