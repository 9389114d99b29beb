import { clusterLabel, type Cluster } from '../lib/data'

export interface BarChartProps {
  clusters: Cluster[]
  /** Bars to draw (largest clusters). */
  top?: number
}

function truncate(s: string, n: number): string {
  const chars = Array.from(s.replace(/\s+/g, ' ').trim())
  return chars.length > n ? chars.slice(0, n - 1).join('') + '…' : chars.join('')
}

/**
 * Horizontal SVG bars of the top clusters: distinct askers (the ranking), or messages when the
 * month was analysed before askers were counted.
 */
export function BarChart({ clusters, top = 10 }: BarChartProps) {
  const shown = clusters.slice(0, top)
  if (shown.length === 0) return null
  const byAskers = shown.every((c) => c.askers !== null)
  const value = (c: Cluster) => (byAskers ? (c.askers ?? 0) : c.size)
  const unit = byAskers ? 'members' : 'messages'
  const max = Math.max(...shown.map(value))
  const rowH = 22
  const labelW = 300
  const barW = 360
  const width = labelW + barW + 60
  const height = shown.length * rowH + 4
  return (
    <figure className="chart" data-testid="top-chart">
      <figcaption>
        Top {shown.length} clusters by {byAskers ? 'members who asked' : 'messages'}
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label={`${byAskers ? 'Members who asked' : 'Messages'} of the top ${shown.length} clusters`}
        preserveAspectRatio="xMinYMin meet"
      >
        {shown.map((c, i) => {
          const y = i * rowH + 2
          const w = Math.max(2, (value(c) / max) * barW)
          const label = clusterLabel(c)
          return (
            <g key={c.id} className="chart-row" data-testid="chart-bar">
              <title>{`${label} — ${value(c)} ${unit}`}</title>
              <text x={labelW - 8} y={y + rowH / 2} dominantBaseline="middle" textAnchor="end" className="chart-label">
                {truncate(label, 40)}
              </text>
              <rect x={labelW} y={y + 3} width={w} height={rowH - 6} rx="3" className="chart-bar" />
              <text x={labelW + w + 6} y={y + rowH / 2} dominantBaseline="middle" className="chart-value">
                {value(c)}
              </text>
            </g>
          )
        })}
      </svg>
    </figure>
  )
}
