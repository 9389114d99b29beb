// End-to-end: the built page (dist/) and generated fixture tenants served on 127.0.0.1 by
// scripts/serve.mjs, driven in Chromium through playwright-core (no browser downloads; which
// Chromium and which fonts: ./browser.ts). Screenshots go to artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { startServer, type StartedServer } from '../scripts/serve.mjs'
import { ARABIC_QUESTION, CHINESE_QUESTION, EMOJI_TITLE, HELP_CHANNEL, MINOR_TITLE, writeFixtures } from '../test/fixtures'
import { BUNDLED_FONT_FAMILIES, fontsReady, launchContext, type ResolvedChromium } from './browser'

const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(root, 'artifacts')
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let server: StartedServer
let context: BrowserContext
let browser: ResolvedChromium
let tmp: string
const pageErrors: string[] = []

async function open(query: string): Promise<Page> {
  const page = await context.newPage()
  page.setDefaultTimeout(10_000)
  page.on('pageerror', (e) => pageErrors.push(`${query}: ${e.message}`))
  await page.goto(`${server.url}/${query}`)
  return page
}

async function shot(page: Page, name: string, fullPage = false) {
  await fontsReady(page)
  await page.screenshot({ path: join(artifacts, name), fullPage })
}

/** True when the page scrolls sideways (a long word or question not wrapped). */
const overflowsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'index.html'))) throw new Error('dist/index.html not found: run `npm run build` first.')
  mkdirSync(artifacts, { recursive: true })
  tmp = mkdtempSync(join(tmpdir(), 'insights-e2e-'))
  writeFixtures(join(tmp, 'data'))
  server = await startServer({ dist: join(root, 'dist'), data: join(tmp, 'data'), host: '127.0.0.1', port: 0 })
  ;({ context, browser } = await launchContext(join(tmp, 'profile'), { args: ARGS, viewport: { width: 1280, height: 900 } }))
  console.log(`e2e: Chromium from ${browser.source}: ${browser.executablePath}`)
})

afterAll(async () => {
  await context?.close()
  await server?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('the static server', () => {
  const raw = (path: string, method = 'GET') =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })

  it('serves the page and data, and nothing outside them', async () => {
    expect(await raw('/')).toBe(200)
    expect(await raw('/data/acme/questions.json')).toBe(200)
    expect(await raw('/data/noquestions/questions.json')).toBe(404)
    expect(await raw('/data/../../package.json')).toBe(404)
    expect(await raw('/data/%2e%2e/%2e%2e/package.json')).toBe(404)
    expect(await raw('/', 'POST')).toBe(405)
  })

  it('sends the bare address to the only tenant of a data folder', async () => {
    const one = join(tmp, 'one')
    mkdirSync(join(one, 'solo'), { recursive: true })
    writeFileSync(join(one, 'solo', 'metadata.json'), '{"hasQuestionAnalysis": false}')
    const srv = await startServer({ dist: join(root, 'dist'), data: one, port: 0 })
    try {
      const res = await fetch(`${srv.url}/`, { redirect: 'manual' })
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('/?tenant=solo&data=/data')
    } finally {
      await srv.close()
    }
  })
})

describe('Insights page in Chromium', () => {
  it('opens on the latest month with clusters, chart and the Insights tab', async () => {
    const page = await open('?tenant=acme&data=/data')
    await page.getByTestId('insights-page').waitFor()
    expect(await page.getByTestId('current-month').textContent()).toBe('April 2024')
    expect(await page.getByTestId('tab-insights').getAttribute('aria-current')).toBe('page')
    expect(await page.getByTestId('cluster').count()).toBe(5)
    expect(await page.getByTestId('cluster-title').first().textContent()).toBe('Password reset')
    expect(await page.getByTestId('chart-bar').count()).toBe(5)
    expect(await page.getByTestId('badge-new').count()).toBe(2)
    expect(await page.getByTestId('sparkline').count()).toBe(3)
    expect(await page.getByTestId('cluster-title').getByText(EMOJI_TITLE).isVisible()).toBe(true)
    expect(await overflowsSideways(page)).toBe(false)
    await shot(page, '01-insights-latest-month.png', true)
    await page.close()
  })

  it('shows who asked, how much is resolved, the best answer on Discord, and the one-member clusters apart', async () => {
    const page = await open('?tenant=acme&data=/data')
    await page.getByTestId('cluster-list').waitFor()
    expect(await page.getByTestId('cluster-askers').allTextContents()).toEqual([
      'asked by 15 members',
      'asked by 9 members',
      'asked by 5 members',
      'asked by 3 members',
      'asked by 2 members',
    ])
    const first = page.getByTestId('cluster').first()
    expect(await first.getByTestId('cluster-resolved').textContent()).toBe('60% resolved')
    const best = first.getByTestId('best-answer')
    expect(await best.textContent()).toBe('best answer here')
    expect(await best.getAttribute('href')).toMatch(new RegExp(`^https://discord\\.com/channels/acme/${HELP_CHANNEL}/\\d+$`))
    expect(await best.getAttribute('target')).toBe('_blank')
    expect(await page.getByTestId('stat-asks').locator('dd').textContent()).toMatch(/^\d+$/)

    const minor = page.getByTestId('minor-clusters')
    expect(await minor.getByTestId('cluster').count()).toBe(0)
    await minor.getByTestId('minor-toggle').click()
    await minor.getByTestId('cluster').first().waitFor()
    expect(await minor.getByTestId('cluster-title').allTextContents()).toEqual([MINOR_TITLE, 'Is there a dark theme?'])
    expect(await minor.getByTestId('minor-toggle').getAttribute('aria-expanded')).toBe('true')
    await minor.scrollIntoViewIfNeeded()
    await shot(page, '01b-minor-clusters-expanded.png', true)
    await page.close()
  })

  it('renders a questions.json of version 1 (before asks) with unknowns', async () => {
    const page = await open('?tenant=legacy&data=/data')
    await page.getByTestId('legacy-note').waitFor()
    expect(await page.getByTestId('cluster').count()).toBe(7)
    expect(new Set(await page.getByTestId('cluster-askers').allTextContents())).toEqual(new Set(['askers unknown']))
    expect(await page.getByTestId('best-answer').count()).toBe(0)
    expect(await page.getByTestId('stat-asks').locator('dd').textContent()).toBe('unknown')
    await shot(page, '01c-version-1-file.png', true)
    await page.close()
  })

  it('switches months, keeps the month in the address, and shows a month without clusters', async () => {
    const page = await open('?tenant=acme&data=/data')
    const select = page.getByTestId('month-select')
    await select.waitFor()
    expect(await select.locator('option').allTextContents()).toEqual(['April 2024', 'March 2024', 'February 2024', 'January 2024'])
    await select.selectOption('2024-01')
    await page.getByTestId('current-month').getByText('January 2024').waitFor()
    expect(await page.getByTestId('cluster-title').allTextContents()).toEqual([
      'Password reset',
      'How do I install Docker on Windows?',
      '日本語の設定',
    ])
    expect(await page.getByTestId('badge-new').count()).toBe(0)
    expect(new URL(page.url()).searchParams.get('month')).toBe('2024-01')
    await shot(page, '02-month-switched-january.png', true)

    await select.selectOption('2024-02')
    await page.getByTestId('no-clusters').waitFor()
    expect(await page.getByTestId('no-clusters').textContent()).toContain('No clusters in February 2024')
    await shot(page, '03-month-without-clusters.png')

    await page.reload()
    await page.getByTestId('no-clusters').waitFor()
    expect(await page.getByTestId('month-select').inputValue()).toBe('2024-02')
    await page.close()
  })

  it('expands a cluster: samples in several scripts, emoji, message links', async () => {
    const page = await open('?tenant=acme&data=/data&messageLink=' + encodeURIComponent('https://chat.example/{tenantId}/{messageId}'))
    const card = page.getByTestId('cluster').filter({ hasText: EMOJI_TITLE })
    await card.getByTestId('cluster-toggle').click()
    const details = card.getByTestId('cluster-details')
    await details.waitFor()
    expect(await card.getByTestId('cluster-toggle').getAttribute('aria-expanded')).toBe('true')
    const samples = await details.getByTestId('cluster-samples').locator('li').allTextContents()
    expect(samples).toContain(ARABIC_QUESTION)
    expect(samples).toContain(CHINESE_QUESTION)
    const links = details.getByTestId('message-ids').getByRole('link')
    expect(await links.count()).toBe(15)
    expect(await links.first().getAttribute('href')).toMatch(/^https:\/\/chat\.example\/acme\/\d+$/)
    await card.scrollIntoViewIfNeeded()
    await fontsReady(page)
    await card.screenshot({ path: join(artifacts, '04-cluster-expanded.png') })

    const long = page.getByTestId('cluster').filter({ hasText: 'Why does my build fail when' })
    await long.getByTestId('cluster-toggle').click()
    await long.getByTestId('cluster-details').waitFor()
    const box = await long.boundingBox()
    expect(box!.width).toBeLessThanOrEqual(1280)
    expect(await overflowsSideways(page)).toBe(false)
    await long.scrollIntoViewIfNeeded()
    await shot(page, '05-long-question-expanded.png')
    await page.close()
  })

  it('pages through 3,000 clusters', async () => {
    const page = await open('?tenant=big&data=/data')
    await page.getByTestId('cluster-list').waitFor()
    expect(await page.getByTestId('cluster').count()).toBe(50)
    expect(await page.getByTestId('page-indicator').first().textContent()).toBe('Page 1 of 60')
    await page.getByRole('button', { name: 'Next' }).first().click()
    await page.getByTestId('page-indicator').first().getByText('Page 2 of 60').waitFor()
    expect(await page.getByTestId('cluster').first().getAttribute('data-cluster-id')).toBe('50')
    await shot(page, '06-3000-clusters-page-2.png')
    await page.close()
  })

  it('hides the Insights tab when hasQuestionAnalysis is false', async () => {
    const page = await open('?tenant=disabled&data=/data&view=insights')
    await page.getByTestId('overview').waitFor()
    expect(await page.getByTestId('tab-insights').count()).toBe(0)
    expect(await page.getByTestId('tab-overview').isVisible()).toBe(true)
    expect(await page.getByTestId('insights-page').count()).toBe(0)
    await shot(page, '07-insights-tab-hidden.png')
    await page.close()
  })

  it('shows a tenant without analysed months', async () => {
    const page = await open('?tenant=empty&data=/data')
    await page.getByTestId('no-data').waitFor()
    await shot(page, '08-no-data.png')
    await page.close()
  })

  it.each([
    ['broken', 'The file is not valid JSON', 'is not valid JSON', '09-error-malformed-questions.png'],
    ['noquestions', 'File not found', 'questions.json was not found at /data/noquestions/questions.json', '10-error-missing-questions.png'],
    ['nometa', 'File not found', 'metadata.json was not found at /data/nometa/metadata.json', '11-error-missing-metadata.png'],
    ['invalid', 'The file does not match the expected format', 'version must be 2', '12-error-invalid-questions.png'],
  ])('explains a bad tenant (%s) instead of a blank page', async (tenant, title, message, file) => {
    const page = await open(`?tenant=${tenant}&data=/data`)
    const alert = page.getByRole('alert')
    await alert.waitFor()
    expect(await alert.locator('h2').textContent()).toBe(title)
    expect(await alert.textContent()).toContain(message)
    await shot(page, file)
    await page.close()
  })

  it('renders emoji and CJK with the bundled fonts', async () => {
    const page = await open('?tenant=acme&data=/data')
    const card = page.getByTestId('cluster').filter({ hasText: EMOJI_TITLE })
    await card.getByTestId('cluster-toggle').click()
    await card.getByTestId('cluster-samples').getByText(CHINESE_QUESTION).waitFor()
    await fontsReady(page)
    const loaded = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replace(/["']/g, '')))
    expect(BUNDLED_FONT_FAMILIES).toEqual(expect.arrayContaining(['Noto Sans CJK SC', 'Noto Color Emoji']))
    expect(loaded).toContain('Noto Sans CJK SC')
    expect(loaded).toContain('Noto Color Emoji')
    await card.screenshot({ path: join(artifacts, '13-emoji-and-cjk.png') })
    await page.close()
  })

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([])
  })
})
