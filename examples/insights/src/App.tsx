import { useEffect, useState } from 'react'
import {
  DataError,
  fileUrl,
  getQuestionAnalysis,
  getTenantMetadata,
  type DataSource,
  type QuestionAnalysisData,
  type TenantMetadata,
} from './lib/data'
import { readConfig, withParams, type PageConfig, type View } from './lib/config'
import { InsightsPage } from './components/InsightsPage'
import { ErrorState, Loading } from './components/States'

type Load<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; error: Error }

function describe(e: Error): { title: string; message: string } {
  if (e instanceof DataError) {
    const titles = {
      missing: 'File not found',
      network: 'Could not load the data',
      malformed: 'The file is not valid JSON',
      invalid: 'The file does not match the expected format',
    } as const
    return { title: titles[e.kind], message: e.message }
  }
  return { title: 'Something went wrong', message: e.message || String(e) }
}

function useLoad<T>(key: string | null, load: () => Promise<T>): Load<T> | null {
  const [result, setResult] = useState<{ key: string; value: Load<T> } | null>(null)
  useEffect(() => {
    if (key === null) return
    let live = true
    load().then(
      (value) => live && setResult({ key, value: { state: 'ok', value } }),
      (error: unknown) => live && setResult({ key, value: { state: 'error', error: error instanceof Error ? error : new Error(String(error)) } }),
    )
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  if (key === null) return null
  return result && result.key === key ? result.value : { state: 'loading' }
}

export interface AppProps {
  /** Defaults to window.location.search. */
  search?: string
  fetch?: typeof fetch
}

function sourceOf(config: PageConfig, f?: typeof fetch): DataSource {
  return { base: config.dataBase, tenant: config.tenant, fetch: f }
}

function OverviewPanel({ metadata, config }: { metadata: TenantMetadata; config: PageConfig }) {
  const fields = Object.entries(metadata).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
  return (
    <section className="overview" data-testid="overview">
      <h2>Overview</h2>
      <dl className="metadata">
        {fields.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd dir="auto">{String(v)}</dd>
          </div>
        ))}
      </dl>
      {!metadata.hasQuestionAnalysis && (
        <p className="muted" data-testid="no-analysis-note">
          Question analysis is not enabled for this tenant, so there is no Insights tab.
        </p>
      )}
      <p className="muted">
        Data: <code>{fileUrl(sourceOf(config), '')}</code>
      </p>
    </section>
  )
}

export function App({ search, fetch: f }: AppProps) {
  const [query, setQuery] = useState(() => search ?? (typeof window !== 'undefined' ? window.location.search : ''))
  const config = readConfig(query)
  const sourceKey = JSON.stringify([config.dataBase, config.tenant])

  const meta = useLoad(sourceKey, () => getTenantMetadata(sourceOf(config, f)))
  const insightsAvailable = meta?.state === 'ok' && meta.value.hasQuestionAnalysis === true
  const view: View = insightsAvailable && config.view !== 'overview' ? 'insights' : 'overview'
  const questions = useLoad<QuestionAnalysisData>(insightsAvailable ? sourceKey : null, () => getQuestionAnalysis(sourceOf(config, f)))

  const update = (changes: Record<string, string | null>) => {
    const next = withParams(query, changes)
    setQuery(next)
    if (search === undefined && typeof window !== 'undefined')
      window.history.replaceState(null, '', `${window.location.pathname}${next}${window.location.hash}`)
  }

  const name = meta?.state === 'ok' ? (typeof meta.value.name === 'string' && meta.value.name) || meta.value.tenantId || config.tenant : config.tenant

  let body
  if (!meta || meta.state === 'loading') body = <Loading what="tenant metadata" />
  else if (meta.state === 'error')
    body = (
      <ErrorState
        {...describe(meta.error)}
        hint={
          <>
            The page reads <code>metadata.json</code> and <code>questions.json</code> from{' '}
            <code>{fileUrl(sourceOf(config), '') || '.'}</code>. Set <code>?tenant=&lt;id&gt;&amp;data=&lt;base&gt;</code> in the
            address to point it at a tenant's exported files.
          </>
        }
      />
    )
  else if (view === 'overview') body = <OverviewPanel metadata={meta.value} config={config} />
  else if (!questions || questions.state === 'loading') body = <Loading what="question analysis" />
  else if (questions.state === 'error')
    body = (
      <ErrorState
        {...describe(questions.error)}
        hint="Export the tenant's question analysis again (it writes questions.json), then reload this page."
      />
    )
  else
    body = (
      <InsightsPage
        data={questions.value}
        month={config.month}
        onMonthChange={(m) => update({ month: m })}
        messageLink={config.messageLink}
      />
    )

  return (
    <div className="layout">
      <header className="topbar">
        <span className="brand">question-insights</span>
        {name && (
          <span className="tenant" dir="auto" data-testid="tenant-name">
            {name}
          </span>
        )}
        <nav className="tabs" aria-label="Sections" data-testid="nav">
          <a
            href={withParams(query, { view: 'overview' }) || '?'}
            aria-current={view === 'overview' ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault()
              update({ view: 'overview' })
            }}
            data-testid="tab-overview"
          >
            Overview
          </a>
          {insightsAvailable && (
            <a
              href={withParams(query, { view: 'insights' })}
              aria-current={view === 'insights' ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault()
                update({ view: 'insights' })
              }}
              data-testid="tab-insights"
            >
              Insights
            </a>
          )}
        </nav>
      </header>
      <main className="content">{body}</main>
    </div>
  )
}
