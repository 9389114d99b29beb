import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { App } from '../src/App'
import { tenants } from './fixtures'

/** A fetch over the fixture tenants, served under /data/<tenant>/. */
const all = tenants()
function fixtureFetch(): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const m = /^\/data\/([^/]+)\/(metadata|questions)\.json$/.exec(String(input))
    const t = m ? all[decodeURIComponent(m[1])] : undefined
    const v = t && (m![2] === 'metadata' ? t.metadata : t.questions)
    if (v === undefined) return new Response('not found', { status: 404 })
    return new Response(typeof v === 'string' ? v : JSON.stringify(v))
  }) as typeof fetch
}

const open = (tenant: string, extra = '') => render(<App search={`?tenant=${tenant}&data=/data${extra}`} fetch={fixtureFetch()} />)

describe('App', () => {
  it('shows the Insights tab and page when hasQuestionAnalysis is true', async () => {
    open('acme')
    expect(await screen.findByTestId('insights-page')).toBeTruthy()
    expect(screen.getByTestId('tab-insights').getAttribute('aria-current')).toBe('page')
    expect(screen.getByTestId('tenant-name').textContent).toBe('Acme Community')
    fireEvent.click(screen.getByTestId('tab-overview'))
    expect(screen.getByTestId('overview')).toBeTruthy()
    expect(screen.queryByTestId('insights-page')).toBeNull()
    fireEvent.click(screen.getByTestId('tab-insights'))
    expect(await screen.findByTestId('insights-page')).toBeTruthy()
  })

  it('hides the Insights tab when hasQuestionAnalysis is false, even when asked for', async () => {
    open('disabled', '&view=insights')
    expect(await screen.findByTestId('overview')).toBeTruthy()
    expect(screen.getByTestId('tab-overview')).toBeTruthy()
    expect(screen.queryByTestId('tab-insights')).toBeNull()
    expect(screen.queryByTestId('insights-page')).toBeNull()
    expect(screen.getByTestId('no-analysis-note')).toBeTruthy()
  })

  it.each([
    ['broken', 'The file is not valid JSON', /questions\.json at \/data\/broken\/questions\.json is not valid JSON/],
    ['invalid', 'The file does not match the expected format', /version must be 2 \(or 1, the format before asks; got 3\)/],
    ['noquestions', 'File not found', /questions\.json was not found at \/data\/noquestions\/questions\.json/],
    ['nometa', 'File not found', /metadata\.json was not found/],
    ['badmeta', 'The file does not match the expected format', /hasQuestionAnalysis must be true or false/],
    ['nobody', 'File not found', /metadata\.json was not found at \/data\/nobody\/metadata\.json/],
  ])('explains a bad tenant: %s', async (tenant, title, message) => {
    open(tenant)
    const alert = await screen.findByRole('alert')
    expect(alert.querySelector('h2')!.textContent).toBe(title)
    expect(alert.textContent).toMatch(message)
  })

  it('shows the empty states', async () => {
    open('empty')
    expect((await screen.findByTestId('no-data')).textContent).toContain('No question analysis yet')
  })

  it('opens a questions.json of version 1 (before asks): unknown where it has nothing', async () => {
    open('legacy')
    expect(await screen.findByTestId('insights-page')).toBeTruthy()
    expect(screen.getByTestId('tenant-name').textContent).toBe('Legacy Export')
    expect(screen.getByTestId('legacy-note')).toBeTruthy()
    expect(screen.getAllByTestId('cluster-askers')[0].textContent).toBe('askers unknown')
    expect(screen.getAllByTestId('cluster-size')[0].textContent).toBe('30 messages')
    fireEvent.change(screen.getByTestId('month-select'), { target: { value: '2024-01' } })
    expect(screen.getAllByTestId('cluster-title').map((e) => e.textContent)).toEqual(['Password reset', 'How do I install Docker on Windows?', '日本語の設定'])
  })

  it('opens the requested month', async () => {
    open('acme', '&month=2024-02')
    expect((await screen.findByTestId('no-clusters')).textContent).toContain('February 2024')
  })
})
