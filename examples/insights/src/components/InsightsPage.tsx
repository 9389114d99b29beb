import { useDeferredValue, useMemo, useState } from 'react'
import {
  askersUnknown,
  availableMonths,
  formatMonth,
  sortedClusters,
  type Cluster,
  type Month,
  type MonthStats,
  type QuestionAnalysisData,
} from '../lib/data'
import { createTrendFinder, type ClusterTrend } from '../lib/recurrence'
import { BarChart } from './BarChart'
import { ClusterCard } from './ClusterCard'
import { MonthSelector } from './MonthSelector'
import { Pager } from './Pager'
import { EmptyState } from './States'

export const PAGE_SIZE = 50

export interface InsightsPageProps {
  data: QuestionAnalysisData
  /** Requested month; falls back to the latest when absent or not in the data. */
  month?: Month | null
  onMonthChange?: (m: Month) => void
  messageLink: string
  /** Link template of a best answer (default: the Discord message). */
  answerLink?: string
  pageSize?: number
}

const DISCORD_MESSAGE = 'https://discord.com/channels/{guildId}/{channelId}/{messageId}'

function matches(c: Cluster, q: string): boolean {
  if (!q) return true
  const hay = [c.title ?? '', c.representative, ...c.keywords].join('\n').toLocaleLowerCase()
  return hay.includes(q)
}

const count = (n: number | null) => (n === null ? 'unknown' : n.toLocaleString('en-US'))

function Stats({ s, clusters }: { s: MonthStats; clusters: number }) {
  const items: Array<[string, number | null]> = [
    ['Messages', s.messages],
    ['Asks', s.asks],
    ['Conversations', s.conversations],
    ['Answered', s.answered],
    ['Resolved', s.resolved],
    ['Questions', s.questions],
    ['Clusters', clusters],
    ['Unclustered', s.unclustered],
    ['Duplicates', s.duplicates],
  ]
  return (
    <dl className="stats" data-testid="stats">
      {items.map(([label, n]) => (
        <div key={label} data-testid={`stat-${label.toLowerCase()}`} className={n === null ? 'unknown' : undefined}>
          <dt>{label}</dt>
          <dd>{count(n)}</dd>
        </div>
      ))}
    </dl>
  )
}

interface ClusterListProps {
  clusters: Cluster[]
  /** Rank of the first cluster of the list, minus one. */
  rankOffset: number
  pageSize: number
  month: Month
  tenantId: string
  trendOf?: ((c: Cluster) => ClusterTrend) | null
  messageLink: string
  answerLink: string
  testId: string
}

/** A paged list of cluster cards. */
function ClusterList({ clusters, rankOffset, pageSize, month, tenantId, trendOf, messageLink, answerLink, testId }: ClusterListProps) {
  const [page, setPage] = useState(0)
  const pages = Math.max(1, Math.ceil(clusters.length / pageSize))
  const current = Math.min(page, pages - 1)
  const rank = useMemo(() => new Map(clusters.map((c, i) => [c, rankOffset + i + 1])), [clusters, rankOffset])
  const shown = clusters.slice(current * pageSize, (current + 1) * pageSize)
  return (
    <>
      <Pager page={current} pages={pages} onPage={setPage} />
      <ol className="clusters" data-testid={testId} key={`${month}-${current}`}>
        {shown.map((c) => (
          <ClusterCard
            key={c.id}
            cluster={c}
            rank={rank.get(c) ?? 0}
            month={month}
            tenantId={tenantId}
            trend={trendOf?.(c)}
            messageLink={messageLink}
            answerLink={answerLink}
          />
        ))}
      </ol>
      <Pager page={current} pages={pages} onPage={setPage} />
    </>
  )
}

/** Clusters with fewer distinct askers than minAskers: listed apart, collapsed. */
function MinorClusters(props: Omit<ClusterListProps, 'testId'> & { total: number }) {
  const [open, setOpen] = useState(false)
  const most = Math.max(0, ...props.clusters.map((c) => c.askers ?? 0))
  const heading = most <= 1 ? 'Asked by one member' : `Asked by at most ${most} members`
  const n = props.clusters.length
  return (
    <section className="minor-clusters" data-testid="minor-clusters">
      <h3>
        <button type="button" className="section-toggle" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="minor-toggle">
          {open ? '▾' : '▸'} {heading}{' '}
          <small data-testid="minor-count">
            ({n === props.total ? n.toLocaleString('en-US') : `${n.toLocaleString('en-US')} of ${props.total.toLocaleString('en-US')}`}{' '}
            {props.total === 1 ? 'cluster' : 'clusters'})
          </small>
        </button>
      </h3>
      {open && (
        <>
          <p className="muted">Fewer distinct members asked these than the analysis requires of a cluster; one member asking again does not make a topic.</p>
          <ClusterList {...props} testId="minor-cluster-list" />
        </>
      )}
    </section>
  )
}

export function InsightsPage({ data, month: requested, onMonthChange, messageLink, answerLink = DISCORD_MESSAGE, pageSize = PAGE_SIZE }: InsightsPageProps) {
  const months = useMemo(() => availableMonths(data), [data])
  const [chosen, setChosen] = useState<Month | null>(null)
  const want = chosen ?? requested ?? null
  const month = want && months.includes(want) ? want : months[months.length - 1]
  const [filter, setFilter] = useState('')
  const query = useDeferredValue(filter.trim().toLocaleLowerCase())

  const analysis = month ? data.analyses[month] : undefined
  const clusters = useMemo(() => (analysis ? sortedClusters(analysis.clusters) : []), [analysis])
  const minor = useMemo(() => (analysis ? sortedClusters(analysis.minorClusters) : []), [analysis])
  const shown = useMemo(() => (query ? clusters.filter((c) => matches(c, query)) : clusters), [clusters, query])
  const shownMinor = useMemo(() => (query ? minor.filter((c) => matches(c, query)) : minor), [minor, query])
  const trendOf = useMemo(() => (month ? createTrendFinder(data, months, month) : null), [data, months, month])

  if (months.length === 0 || !month || !analysis) {
    return (
      <EmptyState title="No question analysis yet" testId="no-data">
        <p>
          questions.json for <strong>{data.tenantId}</strong> has no analysed months. Run the analysis for a month, export
          again, and reload this page.
        </p>
      </EmptyState>
    )
  }

  const pages = Math.max(1, Math.ceil(shown.length / pageSize))
  const s = analysis.stats
  const list = { pageSize, month, tenantId: data.tenantId, messageLink, answerLink }

  const selectMonth = (m: Month) => {
    setChosen(m)
    onMonthChange?.(m)
  }

  return (
    <div className="insights" data-testid="insights-page" data-month={month} key={month}>
      <div className="insights-toolbar">
        <h2>
          Questions in <span data-testid="current-month">{formatMonth(month)}</span>
        </h2>
        <MonthSelector months={months} value={month} onChange={selectMonth} />
      </div>
      <Stats s={s} clusters={clusters.length} />
      {askersUnknown(analysis) && (
        <p className="note" data-testid="legacy-note">
          {formatMonth(month)} was analysed before asks were counted: askers, answered and resolved counts and best answers are
          unknown, and clusters are ranked by size. Analyse the month again to see them.
        </p>
      )}
      {clusters.length === 0 && minor.length === 0 ? (
        <EmptyState title={`No clusters in ${formatMonth(month)}`} testId="no-clusters">
          <p>
            {s.questions > 0
              ? `${s.questions.toLocaleString('en-US')} questions were found, but none formed a cluster.`
              : 'No questions were found in this month.'}{' '}
            Pick another month above.
          </p>
        </EmptyState>
      ) : (
        <>
          <BarChart clusters={clusters} />
          <div className="list-toolbar">
            <label className="filter">
              <span>Filter</span>
              <input
                type="search"
                value={filter}
                placeholder="title, question or keyword"
                onChange={(e) => setFilter(e.target.value)}
                data-testid="cluster-filter"
              />
            </label>
            <span className="muted" data-testid="cluster-count">
              {shown.length === clusters.length
                ? `${clusters.length.toLocaleString('en-US')} clusters`
                : `${shown.length.toLocaleString('en-US')} of ${clusters.length.toLocaleString('en-US')} clusters`}
              {pages > 1 && `, ${pageSize} per page`}
            </span>
          </div>
          {shown.length === 0 ? (
            <p className="muted" data-testid="no-matches">
              {clusters.length === 0 ? `No cluster in ${formatMonth(month)} was asked by enough members.` : `No cluster matches “${filter}”.`}
            </p>
          ) : (
            <ClusterList {...list} key={query} clusters={shown} rankOffset={0} trendOf={trendOf} testId="cluster-list" />
          )}
          {minor.length > 0 && <MinorClusters {...list} key={`minor-${query}`} clusters={shownMinor} total={minor.length} rankOffset={clusters.length} />}
        </>
      )}
    </div>
  )
}
