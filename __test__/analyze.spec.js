'use strict'
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { qi } = require('./helpers')
const { startFakeOpenAI } = require('./support/fake-openai')
const sample = require('../data/sample-month.json')

const base = { tenantId: 'sample', month: sample.month }
const summary = (r) => ({
  questions: r.questions.map((q) => [q.id, [...q.messageIds].sort()]).sort(),
  clusters: r.clusters.map((c) => [c.size, [...c.memberQuestionIds].sort()]),
})

describe('analyzeTenant', () => {
  let result
  beforeAll(async () => {
    result = await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: '' } } })
  })

  test('classifies, extracts (offline: originals), dedupes and clusters a month', () => {
    const s = result.stats
    expect(s.messages).toBe(sample.messages.length)
    expect(s.rejected).toEqual([])
    expect(s.questions).toBeGreaterThan(40)
    expect(s.warnings.join(' ')).toMatch(/OPENROUTER_API_KEY/)
    expect(result.classifications.every((c) => c.isQuestion && c.confidence >= 0.7)).toBe(true)
    expect(result.classifications).toHaveLength(s.questions)
    // every question message is accounted for exactly once: questions carry their duplicates
    const ids = result.questions.flatMap((q) => q.messageIds)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.sort()).toEqual(result.classifications.map((c) => c.messageId).sort())
    expect(s.duplicates).toBe(s.questions - result.questions.length)
    for (const q of result.questions) {
      expect(q.source).toBe('original')
      expect(q.extracted).toBe(q.original)
      expect(q.timestamp).toMatch(/^2026-10-\d\dT.*Z$/)
    }
  })

  test('clusters: sorted by size, consistent with the questions, with keywords and unanswered rates', () => {
    const sizes = result.clusters.map((c) => c.size)
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes)
    expect(result.clusters.length).toBe(result.stats.clusters)
    const byId = new Map(result.questions.map((q) => [q.id, q]))
    result.clusters.forEach((c, i) => {
      expect(c.id).toBe(i)
      expect(c.keywords.length).toBeGreaterThan(0)
      expect(c.unansweredRate).toBeGreaterThanOrEqual(0)
      expect(c.unansweredRate).toBeLessThanOrEqual(1)
      expect(c.title).toBeUndefined() // no LLM configured
      expect(c.representativeQuestionId).toBe(c.memberQuestionIds[0])
      for (const id of c.memberQuestionIds) expect(byId.get(id).clusterId).toBe(i)
      expect(c.size).toBe(c.messageIds.length)
      const unanswered = c.memberQuestionIds.filter((id) => !byId.get(id).answered).reduce((n, id) => n + byId.get(id).messageIds.length, 0)
      expect(c.unansweredRate).toBeCloseTo(unanswered / c.size, 5)
    })
    expect(result.questions.filter((q) => q.clusterId === null)).toHaveLength(result.stats.unclustered)
    const password = result.clusters.find((c) => c.keywords.includes('password'))
    expect(password).toBeDefined()
  })

  test('context windows: same author, same channel, ±2 minutes, not the question itself; answered', async () => {
    const t = Date.parse('2026-10-05T12:00:00Z')
    const m = (id, authorId, channelId, dt, content, extra = {}) => ({ id, authorId, channelId, content, timestamp: t + dt, ...extra })
    const messages = [
      m('ctx1', 'alice', 'help', -60_000, 'I am running the docker image on a raspberry pi'),
      m('q1', 'alice', 'help', 0, 'does it work on v2?'),
      m('ctx2', 'alice', 'help', 90_000, 'the 64 bit one'),
      m('far', 'alice', 'help', 200_000, 'anyway'),
      m('other', 'bob', 'help', 10_000, 'hello there'),
      m('elsewhere', 'alice', 'random', 5_000, 'lunch?'),
      m('ans', 'bob', 'help', 300_000, 'yes it does', { replyToId: 'q1' }),
      m('q2', 'carol', 'help', 400_000, 'how do I reset my password?'),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const q1 = r.questions.find((q) => q.id === 'q1')
    expect(q1.contextMessageIds).toEqual(['ctx1', 'ctx2'])
    expect(q1.answered).toBe(true)
    const q2 = r.questions.find((q) => q.id === 'q2')
    expect(q2.answered).toBe(false)
    expect(q2.timestamp).toBe(new Date(t + 400_000).toISOString())
  })

  test('with an LLM: questions rewritten with their context, clusters titled, log lines carry the correlation id', async () => {
    const fake = await startFakeOpenAI({})
    const logs = []
    try {
      const r = await qi.analyzeTenant({
        ...base,
        messages: sample.messages,
        options: { llm: { apiKey: 'sk-x', baseUrl: fake.url }, correlationId: 'job-42', onLog: (l) => logs.push(l) },
      })
      const rewritten = r.questions.filter((q) => q.source === 'llm')
      expect(rewritten.length).toBeGreaterThan(0)
      expect(r.stats.extracted).toBeGreaterThanOrEqual(rewritten.length)
      expect(r.stats.skippedExtraction).toBeGreaterThan(0)
      for (const q of rewritten) expect(q.extracted).toMatch(/^Standalone: /)
      expect(r.clusters.filter((c) => typeof c.title === 'string').length).toBeGreaterThan(0)
      expect(logs.length).toBeGreaterThan(0)
      expect(logs.every((l) => l.correlationId === 'job-42' && l.tenantId === 'sample')).toBe(true)
    } finally {
      await fake.close()
    }
  })

  test('streaming input (async iterable or pull function) gives the same result as an array', async () => {
    const pages = []
    for (let i = 0; i < sample.messages.length; i += 100) pages.push(sample.messages.slice(i, i + 100))
    async function* iterate() {
      for (const p of pages) {
        await new Promise((r) => setImmediate(r))
        yield p
      }
    }
    const viaIterable = await qi.analyzeTenant({ ...base, messages: iterate(), options: { llm: { apiKey: '' }, batchSize: 64 } })
    let k = 0
    const viaPull = await qi.analyzeTenant({ ...base, messages: async () => (k < pages.length ? pages[k++] : null), options: { llm: { apiKey: '' } } })
    expect(summary(viaIterable)).toEqual(summary(result))
    expect(summary(viaPull)).toEqual(summary(result))
    expect(viaPull.stats.messages).toBe(sample.messages.length)
  })

  test('unsorted input and repeated ids (one kept), Date and epoch timestamps', async () => {
    const shuffled = [...sample.messages].reverse()
    const repeated = [...shuffled, ...shuffled.slice(0, 50)].map((m, i) => ({ ...m, timestamp: i % 3 === 0 ? new Date(m.timestamp) : i % 3 === 1 ? Date.parse(m.timestamp) : m.timestamp }))
    const r = await qi.analyzeTenant({ ...base, messages: repeated, options: { llm: { apiKey: '' } } })
    expect(r.stats.repeatedIds).toBe(50)
    expect(r.stats.analyzed).toBe(sample.messages.length)
    expect(summary(r)).toEqual(summary(result))
  })

  test('bad messages are reported in stats.rejected with reasons and do not stop the tenant', async () => {
    const bad = [
      { channelId: 'c', authorId: 'a', content: 'no id?', timestamp: 0 },
      { id: 'b1', channelId: 'c', authorId: 'a', content: 'when?', timestamp: 'tomorrow' },
      { id: 'b2', channelId: 'c', authorId: 'a', content: 42, timestamp: 0 },
      { id: 'b3', channelId: 'c', authorId: 'a', content: () => 'fn', timestamp: 0 },
      'not even an object',
    ]
    const r = await qi.analyzeTenant({ ...base, messages: [...bad, ...sample.messages], options: { llm: { apiKey: '' } } })
    expect(r.stats.rejected.map((x) => x.index)).toEqual([0, 1, 2, 3, 4])
    expect(r.stats.rejected[0].reason).toMatch(/id/)
    expect(r.stats.rejected[1]).toMatchObject({ id: 'b1', reason: expect.stringMatching(/timestamp/) })
    expect(r.stats.rejected[2].reason).toMatch(/content/)
    expect(r.stats.rejected[3].reason).toMatch(/function/)
    expect(summary(r)).toEqual(summary(result))
  })

  test('progress: stages in order, percent never goes back, ends at 100, throttled', async () => {
    const events = []
    await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: '' }, batchSize: 50 } }, (p) => events.push(p))
    const order = ['classify', 'context', 'extract', 'embed', 'dedupe', 'cluster', 'keywords', 'done']
    const stages = events.map((e) => e.stage)
    expect(stages.map((s) => order.indexOf(s)).every((x, i, a) => x >= 0 && (i === 0 || x >= a[i - 1]))).toBe(true)
    expect(events.map((e) => e.percent).every((x, i, a) => i === 0 || x >= a[i - 1])).toBe(true)
    expect(events[events.length - 1]).toMatchObject({ stage: 'done', percent: 100, tenantId: 'sample' })
    expect(events.length).toBeLessThan(60)
  })

  test('AbortSignal: rejects with an AbortError, at once when already aborted', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(qi.analyzeTenant({ ...base, messages: sample.messages, options: { signal: ac.signal } })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    const fake = await startFakeOpenAI({ delayMs: 200 })
    try {
      const ac2 = new AbortController()
      const p = qi.analyzeTenant(
        { ...base, messages: sample.messages, options: { signal: ac2.signal, skipSelfContained: false, llm: { apiKey: 'k', baseUrl: fake.url, concurrency: 1 } } },
        (e) => e.stage === 'extract' && ac2.abort(),
      )
      await expect(p).rejects.toMatchObject({ name: 'AbortError' })
      expect(fake.stats.requests).toBeLessThan(10)
    } finally {
      await fake.close()
    }
  })

  test('several tenants at once share the cores and get the same results; the event loop keeps running', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const runs = await Promise.all(['a', 'b', 'c'].map((tenantId) => qi.analyzeTenant({ tenantId, month: base.month, messages: sample.messages, options: { llm: { apiKey: '' } } })))
    clearInterval(timer)
    expect(ticks).toBeGreaterThan(5)
    for (const r of runs) expect(summary(r)).toEqual(summary(result))
    expect(runs.map((r) => r.tenantId)).toEqual(['a', 'b', 'c'])
  })

  test('a panic inside the library rejects the promise and the process lives on', () => {
    const script = `
      const qi = require(${JSON.stringify(path.join(__dirname, '..'))})
      const s = require(${JSON.stringify(path.join(__dirname, '..', 'data', 'sample-month.json'))})
      qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: s.messages, options: { llm: { apiKey: '' } } })
        .then(() => console.log('resolved'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))
        .then(() => qi.classify(['still alive?']))
        .then((r) => console.log('alive', r.length))`
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, QUESTION_INSIGHTS_FAULT: 'panic:cluster' } })
    const [first, second] = out.trim().split('\n')
    expect(JSON.parse(first)).toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(/panic/) })
    expect(second).toBe('alive 1')
  })

  test('bad input rejects naming the field', async () => {
    await expect(qi.analyzeTenant()).rejects.toMatchObject({ name: 'TypeError', field: 'input' })
    await expect(qi.analyzeTenant({ month: '2026-10', messages: [] })).rejects.toMatchObject({ name: 'TypeError', field: 'tenantId' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-13', messages: [] })).rejects.toMatchObject({ name: 'RangeError', field: 'month' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: 'x' })).rejects.toMatchObject({ name: 'TypeError', field: 'messages' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { threshold: 2 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { cluster: { minClusterSize: 0 } } })).rejects.toMatchObject({ field: 'options.cluster.minClusterSize' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { onLog: 'x' } })).rejects.toMatchObject({ field: 'options.onLog' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: async () => { throw new Error('db down') } })).rejects.toMatchObject({ code: 'ERR_MESSAGE_SOURCE', message: expect.stringMatching(/db down/) })
    const empty = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [] })
    expect(empty).toMatchObject({ questions: [], clusters: [], stats: { messages: 0, questions: 0 } })
  })
})
