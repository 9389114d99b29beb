// @vitest-environment node
import { describe, expect, it } from 'vitest'
import {
  DataError,
  availableMonths,
  clusterLabel,
  fileUrl,
  formatMonth,
  getQuestionAnalysis,
  getTenantMetadata,
  askersUnknown,
  sortedClusters,
  upgradeV1,
} from '../src/lib/data'
import { answerHref, messageHref, readConfig, withParams } from '../src/lib/config'
import { monthlyData, toV1 } from './fixtures'

function fakeFetch(files: Record<string, { status?: number; body: string }>): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input)
    const f = files[url]
    if (!f) return new Response('not found', { status: 404 })
    return new Response(f.body, { status: f.status ?? 200 })
  }) as typeof fetch
}

describe('lib/data', () => {
  it('builds file URLs from the base and tenant', () => {
    expect(fileUrl({}, 'questions.json')).toBe('data/questions.json')
    expect(fileUrl({ base: '/data/', tenant: 'acme' }, 'questions.json')).toBe('/data/acme/questions.json')
    expect(fileUrl({ base: 'https://x.test/exports', tenant: 'a b' }, 'metadata.json')).toBe('https://x.test/exports/a%20b/metadata.json')
  })

  it('getQuestionAnalysis returns a valid file', async () => {
    const data = monthlyData()
    const got = await getQuestionAnalysis({
      base: '/d',
      tenant: 'acme',
      fetch: fakeFetch({ '/d/acme/questions.json': { body: JSON.stringify(data) } }),
    })
    expect(got).toEqual(data)
  })

  it.each([
    ['missing', {}, /questions\.json was not found at \/d\/acme\/questions\.json/],
    ['malformed', { '/d/acme/questions.json': { body: '{"version": 1,' } }, /is not valid JSON/],
    ['malformed', { '/d/acme/questions.json': { body: '<!doctype html><p>hi' } }, /server returned HTML/],
    ['malformed', { '/d/acme/questions.json': { body: '   ' } }, /is empty/],
    ['invalid', { '/d/acme/questions.json': { body: '{"version": 2}' } }, /does not match the schema: .*tenantId is required/],
    ['invalid', { '/d/acme/questions.json': { body: '{"version": 3}' } }, /version must be 2 \(or 1, the format before asks; got 3\)/],
    ['network', { '/d/acme/questions.json': { status: 500, body: 'x' } }, /HTTP 500/],
  ] as const)('getQuestionAnalysis reports a %s file', async (kind, files, message) => {
    const p = getQuestionAnalysis({ base: '/d', tenant: 'acme', fetch: fakeFetch(files) })
    await expect(p).rejects.toBeInstanceOf(DataError)
    await expect(p).rejects.toMatchObject({ kind })
    await expect(p).rejects.toThrow(message)
  })

  it('getQuestionAnalysis reports a fetch that throws', async () => {
    const f = (async () => {
      throw new TypeError('Failed to fetch')
    }) as unknown as typeof fetch
    await expect(getQuestionAnalysis({ fetch: f })).rejects.toMatchObject({ kind: 'network', message: expect.stringContaining('Failed to fetch') })
  })

  it('getTenantMetadata checks hasQuestionAnalysis', async () => {
    const ok = await getTenantMetadata({ fetch: fakeFetch({ 'data/metadata.json': { body: '{"hasQuestionAnalysis": false, "name": "X"}' } }) })
    expect(ok).toEqual({ hasQuestionAnalysis: false, name: 'X' })
    await expect(getTenantMetadata({ fetch: fakeFetch({ 'data/metadata.json': { body: '{"hasQuestionAnalysis": 1}' } }) })).rejects.toMatchObject({
      kind: 'invalid',
    })
    await expect(getTenantMetadata({ fetch: fakeFetch({ 'data/metadata.json': { body: '[]' } }) })).rejects.toMatchObject({ kind: 'invalid' })
  })

  it('lists only months with an analysis, oldest first', () => {
    const d = monthlyData()
    d.months = ['2024-03', '2024-01', '2024-09', '2024-04', '2024-02']
    expect(availableMonths(d)).toEqual(['2024-01', '2024-02', '2024-03', '2024-04'])
  })

  it('ranks clusters by askers, then size, without touching the data', () => {
    const a = monthlyData().analyses['2024-04']
    a.clusters.reverse()
    const before = a.clusters.map((c) => c.id)
    const ranked = sortedClusters(a.clusters)
    expect(ranked.map((c) => c.askers)).toEqual([15, 9, 5, 3, 2])
    expect(ranked.map((c) => c.size)).toEqual([30, 15, 7, 9, 4]) // 7 messages by 5 members before 9 by 3
    expect(a.clusters.map((c) => c.id)).toEqual(before)
    // askers unknown (a version 1 file): by size
    const old = ranked.map((c) => ({ ...c, askers: null }))
    expect(sortedClusters(old).map((c) => c.size)).toEqual([30, 15, 9, 7, 4])
  })

  it('loads a version 1 file (before asks) with what it lacks as unknown', async () => {
    const v1 = toV1(monthlyData())
    const got = await getQuestionAnalysis({ base: '/d', tenant: 'legacy', fetch: fakeFetch({ '/d/legacy/questions.json': { body: JSON.stringify(v1) } }) })
    expect(got.version).toBe(2)
    expect(got.months).toEqual(v1.months)
    const april = got.analyses['2024-04']
    expect(april.minorClusters).toEqual([])
    expect(april.clusters).toHaveLength(7) // version 1 had no minor clusters: all of them are here
    expect(april.clusters.every((c) => c.askers === null && c.resolvedRate === null && c.bestAnswer === null)).toBe(true)
    expect(april.clusters.find((c) => c.id === 3)!.title).toBe(null) // a title left out is null
    expect(april.stats).toEqual({ ...v1.analyses['2024-04'].stats, asks: null, conversations: null, answered: null, resolved: null, notRequests: null, minorClusters: null, roles: null })
    expect(askersUnknown(april)).toBe(true)
    expect(askersUnknown(monthlyData().analyses['2024-04'])).toBe(false)
    expect(upgradeV1(v1)).toEqual(got)
  })

  it('labels a cluster by its title, else its representative', () => {
    const [c] = monthlyData().analyses['2024-04'].clusters
    expect(clusterLabel(c)).toBe('Password reset')
    expect(clusterLabel({ ...c, title: null })).toBe('How do I reset my password?')
    expect(clusterLabel({ ...c, title: '  ' })).toBe('How do I reset my password?')
    expect(formatMonth('2024-04')).toBe('April 2024')
  })
})

describe('lib/config', () => {
  it('reads the query string', () => {
    expect(readConfig('?tenant=acme&data=/exports&month=2024-03&view=overview&messageLink=https://x/{messageId}')).toEqual({
      tenant: 'acme',
      dataBase: '/exports',
      month: '2024-03',
      view: 'overview',
      messageLink: 'https://x/{messageId}',
      answerLink: 'https://discord.com/channels/{guildId}/{channelId}/{messageId}',
    })
    expect(readConfig('')).toMatchObject({ tenant: '', dataBase: 'data', month: null, view: null, messageLink: '#message-{messageId}' })
    expect(readConfig('?answerLink=https://viewer/{channelId}/{messageId}').answerLink).toBe('https://viewer/{channelId}/{messageId}')
  })

  it('edits the query string and fills link templates', () => {
    expect(withParams('?tenant=a&month=2024-01', { month: '2024-02', view: null })).toBe('?tenant=a&month=2024-02')
    expect(messageHref('https://discord.com/channels/{tenantId}/x/{messageId}', '123', 'g 1')).toBe('https://discord.com/channels/g%201/x/123')
    const best = { guildId: '81384788765712384', channelId: '381889648827301889', messageId: '1200000000000000042' }
    expect(answerHref('https://discord.com/channels/{guildId}/{channelId}/{messageId}', best)).toBe(
      'https://discord.com/channels/81384788765712384/381889648827301889/1200000000000000042',
    )
    expect(answerHref('/viewer/{tenantId}/{channelId}?m={messageId}', { ...best, channelId: 'a/b' })).toBe('/viewer/81384788765712384/a%2Fb?m=1200000000000000042')
  })
})
