'use strict'
// The evaluation scores the eval scripts print (scripts/metrics.js).
const { prf, bootstrap, nmi, ari } = require('../scripts/metrics')

describe('prf', () => {
  test('counts true and false positives and misses', () => {
    // tp 2, fp 1, fn 1, tn 1
    const s = prf([
      [true, true],
      [true, true],
      [true, false],
      [false, true],
      [false, false],
    ])
    expect(s.precision).toBeCloseTo(2 / 3)
    expect(s.recall).toBeCloseTo(2 / 3)
    expect(s.f1).toBeCloseTo(2 / 3)
  })

  test('is 0, not NaN, when nothing is predicted or nothing is gold', () => {
    expect(prf([[false, true]])).toEqual({ precision: 0, recall: 0, f1: 0 })
    expect(prf([[false, false]])).toEqual({ precision: 0, recall: 0, f1: 0 })
  })
})

describe('bootstrap', () => {
  // groups of [predicted, gold]: 80 % of the positives found, few false alarms
  const groups = (n) =>
    Array.from({ length: n }, (_, k) => [
      [k % 5 !== 0, true],
      [k % 10 === 0, false],
      [false, false],
    ])
  const f1 = (items) => ({ f1: prf(items).f1, precision: prf(items).precision })

  test('the interval holds the estimate and narrows with more data', () => {
    const small = groups(40)
    const large = groups(1000)
    const a = bootstrap(small, f1, { draws: 400 })
    const b = bootstrap(large, f1, { draws: 400 })
    const point = prf(small.flat()).f1
    expect(a.f1[0]).toBeLessThan(point)
    expect(a.f1[1]).toBeGreaterThan(point)
    expect(b.f1[1] - b.f1[0]).toBeLessThan((a.f1[1] - a.f1[0]) / 2)
    expect(Object.keys(a).sort()).toEqual(['f1', 'precision'])
  })

  test('is the same on every run with the same seed, and another seed draws otherwise', () => {
    const g = groups(60)
    expect(bootstrap(g, f1, { draws: 200, seed: 7 })).toEqual(bootstrap(g, f1, { draws: 200, seed: 7 }))
    expect(bootstrap(g, f1, { draws: 200, seed: 7 })).not.toEqual(bootstrap(g, f1, { draws: 200, seed: 8 }))
  })

  test('draws whole groups: one group of all-correct items has no spread', () => {
    const one = [[[true, true], [false, false]]]
    expect(bootstrap(one, f1, { draws: 50 }).f1).toEqual([1, 1])
    expect(() => bootstrap([], f1)).toThrow(/no groups/)
  })
})

describe('clustering agreement', () => {
  test('identical labelings score 1, whatever the label names', () => {
    expect(nmi([1, 1, 2, 2], ['a', 'a', 'b', 'b'])).toBeCloseTo(1)
    expect(ari([1, 1, 2, 2], ['a', 'a', 'b', 'b'])).toBeCloseTo(1)
    expect(ari([1, 1, 2, 2], ['a', 'b', 'a', 'b'])).toBeLessThan(0.01)
  })
})
