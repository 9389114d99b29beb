import { useDeferredValue, useMemo, useState } from 'react'
import {
  availableMonths,
  formatMonth,
  sortedClusters,
  type Cluster,
  type Month,
  type QuestionAnalysisData,
} from '../lib/data'
import { createTrendFinder } from '../lib/recurrence'
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
  pageSize?: number
}

function matches(c: Cluster, q: string): boolean {
  if (!q) return true
  const hay = [c.title ?? '', c.representative, ...c.keywords].join('\n').toLocaleLowerCase()
  return hay.includes(q)
}

export function InsightsPage({ data, month: requested, onMonthChange, messageLink, pageSize = PAGE_SIZE }: InsightsPageProps) {
  const months = useMemo(() => availableMonths(data), [data])
  const [chosen, setChosen] = useState<Month | null>(null)
  const want = chosen ?? requested ?? null
  const month = want && months.includes(want) ? want : months[months.length - 1]
  const [page, setPage] = useState(0)
  const [filter, setFilter] = useState('')
  const query = useDeferredValue(filter.trim().toLocaleLowerCase())

  const analysis = month ? data.analyses[month] : undefined
  const clusters = useMemo(() => (analysis ? sortedClusters(analysis) : []), [analysis])
  const rank = useMemo(() => new Map(clusters.map((c, i) => [c, i + 1])), [clusters])
  const shown = useMemo(() => (query ? clusters.filter((c) => matches(c, query)) : clusters), [clusters, query])
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
  const current = Math.min(page, pages - 1)
  const pageClusters = shown.slice(current * pageSize, (current + 1) * pageSize)
  const s = analysis.stats

  const selectMonth = (m: Month) => {
    setChosen(m)
    setPage(0)
    onMonthChange?.(m)
  }

  return (
    <div className="insights" data-testid="insights-page" data-month={month}>
      <div className="insights-toolbar">
        <h2>
          Questions in <span data-testid="current-month">{formatMonth(month)}</span>
        </h2>
        <MonthSelector months={months} value={month} onChange={selectMonth} />
      </div>
      <dl className="stats" data-testid="stats">
        <div>
          <dt>Messages</dt>
          <dd>{s.messages.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Questions</dt>
          <dd>{s.questions.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Clusters</dt>
          <dd>{clusters.length.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Unclustered</dt>
          <dd>{s.unclustered.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Duplicates</dt>
          <dd>{s.duplicates.toLocaleString('en-US')}</dd>
        </div>
      </dl>
      {clusters.length === 0 ? (
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
                onChange={(e) => {
                  setFilter(e.target.value)
                  setPage(0)
                }}
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
              No cluster matches “{filter}”.
            </p>
          ) : (
            <>
              <Pager page={current} pages={pages} onPage={setPage} />
              <ol className="clusters" data-testid="cluster-list" key={`${month}-${current}`}>
                {pageClusters.map((c) => (
                  <ClusterCard
                    key={c.id}
                    cluster={c}
                    rank={rank.get(c) ?? 0}
                    month={month}
                    tenantId={data.tenantId}
                    trend={trendOf?.(c)}
                    messageLink={messageLink}
                  />
                ))}
              </ol>
              <Pager page={current} pages={pages} onPage={setPage} />
            </>
          )}
        </>
      )}
    </div>
  )
}
