import { formatMonth, type Month } from '../lib/data'

export interface SparklineProps {
  points: { month: Month; size: number }[]
  current: Month
  width?: number
  height?: number
}

/** A tiny inline SVG line of a cluster's size per month; the current month is a dot. */
export function Sparkline({ points, current, width = 96, height = 24 }: SparklineProps) {
  if (points.length === 0) return null
  const max = Math.max(1, ...points.map((p) => p.size))
  const pad = 3
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0
  const xy = points.map((p, i) => ({
    ...p,
    x: points.length > 1 ? pad + i * step : width / 2,
    y: height - pad - (p.size / max) * (height - 2 * pad),
  }))
  const label = points.map((p) => `${formatMonth(p.month)}: ${p.size}`).join(', ')
  const cur = xy.find((p) => p.month === current)
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Size per month: ${label}`} data-testid="sparkline">
      <title>{`Size per month — ${label}`}</title>
      <polyline fill="none" stroke="currentColor" strokeWidth="1.5" points={xy.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')} />
      {cur && <circle cx={cur.x} cy={cur.y} r="2.5" className="sparkline-current" />}
    </svg>
  )
}
