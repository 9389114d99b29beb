'use strict'
// Child process: extract() against the local fake OpenAI server.
// 1. 2 000 items answered after 300 ms, concurrency 20, with 1 and with 5 questions per request
//    (skipSelfContained off, so every item is sent).
// 2. Faults: 1 000 items answered after 100 ms, concurrency 20, timeout 1 s, 2 retries, one
//    fallback model, at 0 %, 10 % and 30 % random faults (500, 429 with Retry-After: 0,
//    truncated JSON, hangs): items/s and the share rewritten by the LLM.
const qi = require('..')
const { startFakeOpenAI } = require('../__test__/support/fake-openai')

const makeItems = (n) =>
  Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    question: `does it work on version ${i % 17}?`,
    context: [{ authorId: `u${i % 50}`, content: `I am running the docker image on host ${i}`, timestamp: 1_790_000_000_000 + i }],
    confidence: 0.8,
  }))

async function throughput() {
  const fake = await startFakeOpenAI({ delayMs: 300 })
  const items = makeItems(2000)
  const rows = []
  for (const perRequest of [1, 5]) {
    const before = fake.stats.requests
    const t = process.hrtime.bigint()
    const out = await qi.extract(items, { llm: { apiKey: 'sk-bench', baseUrl: fake.url, concurrency: 20 }, skipSelfContained: false, questionsPerRequest: perRequest })
    const seconds = Number(process.hrtime.bigint() - t) / 1e9
    rows.push({ perRequest, requests: fake.stats.requests - before, seconds, promptTokens: out.promptTokens, completionTokens: out.completionTokens, llm: out.results.filter((r) => r.source === 'llm').length })
  }
  await fake.close()
  return rows
}

async function faults() {
  const items = makeItems(1000)
  const rows = []
  for (const rate of [0, 0.1, 0.3]) {
    // A fresh server (and so a fresh provider entry: its own breaker and limits) per rate.
    const fake = await startFakeOpenAI({ delayMs: 100, faultRate: rate, seed: 11, faultModes: ['429', '500', 'badjson', 'hang'], retryAfterSec: 0 })
    const llm = { apiKey: 'sk-bench', baseUrl: fake.url, concurrency: 20, timeoutMs: 1000, maxRetries: 2, fallbackModels: ['bench/backup'] }
    const t = process.hrtime.bigint()
    const out = await qi.extract(items, { llm, skipSelfContained: false })
    const seconds = Number(process.hrtime.bigint() - t) / 1e9
    const rewritten = out.results.filter((r) => r.source === 'llm').length
    rows.push({ rate, items: items.length, seconds, itemsPerSecond: items.length / seconds, rewritten, share: rewritten / items.length, requests: fake.stats.requests, faulty: fake.stats.modes.filter((m) => m !== 'ok').length })
    await fake.close()
  }
  return rows
}

async function main() {
  const which = process.argv[2]
  const out = {}
  if (!which || which === 'throughput') out.rows = await throughput()
  if (!which || which === 'faults') out.faults = await faults()
  process.stdout.write(JSON.stringify(out))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
