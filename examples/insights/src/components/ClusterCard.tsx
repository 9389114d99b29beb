import { useId, useState } from 'react'
import { clusterLabel, type Cluster, type Month } from '../lib/data'
import type { ClusterTrend } from '../lib/recurrence'
import { answerHref, linkTarget, messageHref } from '../lib/config'
import { Sparkline } from './Sparkline'

export interface ClusterCardProps {
  cluster: Cluster
  rank: number
  month: Month
  tenantId: string
  trend?: ClusterTrend
  messageLink: string
  /** Link template of a best answer (see lib/config.ts). */
  answerLink: string
}

const MESSAGE_IDS_SHOWN = 100

export function formatRate(r: number): string {
  return `${Math.round(r * 100)}%`
}

/** "asked by 14 members" (the cluster's weight), or unknown for a month analysed before asks. */
export function askersText(askers: number | null): string {
  if (askers === null) return 'askers unknown'
  return `asked by ${askers.toLocaleString('en-US')} ${askers === 1 ? 'member' : 'members'}`
}

function BestAnswerLink({ cluster: c, answerLink }: { cluster: Cluster; answerLink: string }) {
  // Unknown (analysed before answers were tracked): the month's note says so.
  if (c.askers === null && c.bestAnswer === null) return null
  // Someone replied, but no reply stands out as the answer (none said to the asker, or only
  // chatter): say so rather than "no answer yet".
  if (c.bestAnswer === null)
    return (
      <span className="no-answer" data-testid="no-answer">
        {c.unansweredRate < 1 ? 'replied, no answer to link' : 'no answer yet'}
      </span>
    )
  const href = answerHref(answerLink, c.bestAnswer)
  return (
    <span className="best-answer">
      <a href={href} target={linkTarget(href)} rel="noreferrer" data-testid="best-answer">
        best answer here
      </a>
      {c.bestAnswer.acknowledged && (
        <span className="acknowledged" title="The asker acknowledged this answer" data-testid="best-answer-acknowledged">
          {' '}
          ✓ acknowledged
        </span>
      )}
    </span>
  )
}

export function ClusterCard({ cluster: c, rank, month, tenantId, trend, messageLink, answerLink }: ClusterCardProps) {
  const [open, setOpen] = useState(false)
  const [allIds, setAllIds] = useState(false)
  const detailsId = useId()
  const label = clusterLabel(c)
  // The head clamps the label to three lines; the details show the representative in full.
  const showRepresentative = label !== c.representative || c.representative.length > 200
  const ids = allIds ? c.messageIds : c.messageIds.slice(0, MESSAGE_IDS_SHOWN)
  return (
    <li className={`cluster${open ? ' cluster-open' : ''}`} data-testid="cluster" data-cluster-id={c.id}>
      <div className="cluster-head">
        <span className="cluster-rank" aria-label={`Rank ${rank}`}>
          {rank}
        </span>
        <div className="cluster-main">
          <h3 className="cluster-title" dir="auto" title={label.length > 300 ? undefined : label} data-testid="cluster-title">
            {label}
          </h3>
          <div className="cluster-meta">
            <span className={`cluster-askers${c.askers === null ? ' unknown' : ''}`} data-testid="cluster-askers">
              {askersText(c.askers)}
            </span>
            <span className="cluster-size" data-testid="cluster-size">
              <strong>{c.size}</strong> {c.size === 1 ? 'message' : 'messages'}
            </span>
            <span>
              {c.questionCount} unique {c.questionCount === 1 ? 'question' : 'questions'}
            </span>
            <span className="cluster-unanswered" data-testid="cluster-unanswered">
              {formatRate(c.unansweredRate)} unanswered
            </span>
            <span className={`cluster-resolved${c.resolvedRate === null ? ' unknown' : ''}`} data-testid="cluster-resolved">
              {c.resolvedRate === null ? 'resolved unknown' : `${formatRate(c.resolvedRate)} resolved`}
            </span>
            <BestAnswerLink cluster={c} answerLink={answerLink} />
            {trend?.isNew && (
              <span className="badge badge-new" data-testid="badge-new">
                New this month
              </span>
            )}
            {trend?.recurring && (
              <span className="cluster-trend" data-testid="cluster-trend">
                <Sparkline points={trend.points} current={month} />
                <small>
                  in {trend.points.filter((p) => p.size > 0).length} of {trend.points.length} months
                </small>
              </span>
            )}
          </div>
          {c.keywords.length > 0 && (
            <ul className="keywords" aria-label="Keywords">
              {c.keywords.map((k, i) => (
                <li key={`${k}-${i}`} dir="auto">
                  {k}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button
          type="button"
          className="cluster-toggle"
          aria-expanded={open}
          aria-controls={detailsId}
          onClick={() => setOpen(!open)}
          data-testid="cluster-toggle"
        >
          {open ? 'Hide details' : 'Details'}
        </button>
      </div>
      {open && (
        <div className="cluster-details" id={detailsId} data-testid="cluster-details">
          {showRepresentative && (
            <section>
              <h4>Representative question</h4>
              <p className="question" dir="auto">
                {c.representative}
              </p>
            </section>
          )}
          <section>
            <h4>
              Member questions{' '}
              <small>
                ({c.samples.length} in the export{c.questionCount > c.samples.length ? ` of ${c.questionCount} unique` : ''})
              </small>
            </h4>
            {c.samples.length ? (
              <ol className="samples" data-testid="cluster-samples">
                {c.samples.map((s, i) => (
                  <li key={i}>
                    <span className="question" dir="auto">
                      {s}
                    </span>
                  </li>
                ))}
              </ol>
            ) : (
              <p className="muted">The export lists no sample questions for this cluster.</p>
            )}
          </section>
          <section>
            <h4>
              Messages <small>({c.messageIds.length})</small>
            </h4>
            {c.messageIds.length ? (
              <ul className="message-ids" data-testid="message-ids">
                {ids.map((id, i) => (
                  <li key={`${id}-${i}`}>
                    <a href={messageHref(messageLink, id, tenantId)} target={linkTarget(messageLink)} rel="noreferrer">
                      {id}
                    </a>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">No message ids.</p>
            )}
            {c.messageIds.length > MESSAGE_IDS_SHOWN && (
              <button type="button" className="link-button" onClick={() => setAllIds(!allIds)}>
                {allIds ? `Show the first ${MESSAGE_IDS_SHOWN}` : `Show all ${c.messageIds.length}`}
              </button>
            )}
          </section>
        </div>
      )}
    </li>
  )
}
