// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { availableMonths, type Cluster, type QuestionAnalysisData } from '../src/lib/data'
import { clusterTrends, jaccard, normalise } from '../src/lib/recurrence'
import { largeData, monthlyData } from './fixtures'

function byLabel(data: QuestionAnalysisData, month: string) {
  const trends = clusterTrends(data, availableMonths(data), month)
  const out: Record<string, { sizes: number[]; recurring: boolean; isNew: boolean }> = {}
  for (const c of data.analyses[month].clusters) {
    const t = trends.get(c.id)!
    out[Array.from(c.title ?? c.representative).slice(0, 12).join('')] = { sizes: t.points.map((p) => p.size), recurring: t.recurring, isNew: t.isNew }
  }
  return out
}

describe('recurring clusters', () => {
  it('normalises and measures keyword overlap', () => {
    expect(normalise('  Password   Reset?? ')).toBe('password reset')
    expect(normalise('ＡＢＣ？')).toBe('abc')
    expect(jaccard(new Set(['a', 'b', 'c']), new Set(['a', 'b', 'c', 'd']))).toBe(0.75)
    expect(jaccard(new Set(), new Set(['a']))).toBe(0)
  })

  it('matches by title, then by keywords, and marks new clusters', () => {
    const got = byLabel(monthlyData(), '2024-04')
    expect(got['Password res']).toEqual({ sizes: [12, 0, 20, 30], recurring: true, isNew: false })
    expect(got['Billing and ']).toEqual({ sizes: [0, 0, 6, 4], recurring: true, isNew: false })
    // untitled: keywords {docker, install, wsl} vs {docker, install, windows, wsl} = 0.75, vs {docker, install, windows} = 0.5
    expect(got['WSL2 backend']).toEqual({ sizes: [8, 0, 10, 9], recurring: true, isNew: false })
    expect(got['🚀 Deploying ']).toEqual({ sizes: [0, 0, 0, 15], recurring: false, isNew: true })
    expect(got['Why does my ']).toEqual({ sizes: [0, 0, 0, 7], recurring: false, isNew: true })
  })

  it('marks nothing new in the oldest month, and everything new after an empty month', () => {
    const d = monthlyData()
    expect(Object.values(byLabel(d, '2024-01')).map((t) => t.isNew)).toEqual([false, false, false])
    expect(Object.values(byLabel(d, '2024-03')).every((t) => t.isNew)).toBe(true)
  })

  it('does not match differently titled clusters by keywords, nor keyword overlap below 0.5', () => {
    const base = monthlyData()
    const c = (p: Partial<Cluster>): Cluster => ({
      id: 0, title: null, size: 2, questionCount: 1, representative: 'q', samples: [], keywords: [], askers: 2, unansweredRate: 0, resolvedRate: 0, bestAnswer: null, messageIds: [], ...p,
    })
    base.months = ['2024-01', '2024-02']
    base.analyses = {
      '2024-01': { ...base.analyses['2024-01'], month: '2024-01', clusters: [c({ id: 0, title: 'A', representative: 'q1', keywords: ['x', 'y'] }), c({ id: 1, representative: 'q2', keywords: ['p', 'q', 'r'] })] },
      '2024-02': { ...base.analyses['2024-01'], month: '2024-02', clusters: [c({ id: 0, title: 'B', representative: 'q3', keywords: ['x', 'y'] }), c({ id: 1, representative: 'q4', keywords: ['p', 's', 't'] })] },
    }
    const t = clusterTrends(base, ['2024-01', '2024-02'], '2024-02')
    expect(t.get(0)).toMatchObject({ recurring: false, isNew: true })
    expect(t.get(1)).toMatchObject({ recurring: false, isNew: true }) // 1/5 = 0.2
  })

  it('handles 3,000 clusters', () => {
    const d = largeData()
    const t = clusterTrends(d, availableMonths(d), '2024-05')
    expect(t.size).toBe(3000)
    expect(t.get(0)).toMatchObject({ recurring: true, isNew: false })
    expect(t.get(2999)).toMatchObject({ recurring: false, isNew: true })
  })
})
