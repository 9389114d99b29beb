'use strict'
// Child process: extract() of 2 000 items against the local fake OpenAI server answering after
// 300 ms, concurrency 20, with 1 and with 5 questions per request (skipSelfContained off, so
// every item is sent).
const qi = require('..')
const { startFakeOpenAI } = require('../__test__/support/fake-openai')

async function main() {
  const fake = await startFakeOpenAI({ delayMs: 300 })
  const items = Array.from({ length: 2000 }, (_, i) => ({
    id: `q${i}`,
    question: `does it work on version ${i % 17}?`,
    context: [{ authorId: `u${i % 50}`, content: `I am running the docker image on host ${i}`, timestamp: 1_790_000_000_000 + i }],
    confidence: 0.8,
  }))
  const rows = []
  for (const perRequest of [1, 5]) {
    const before = fake.stats.requests
    const t = process.hrtime.bigint()
    const out = await qi.extract(items, { llm: { apiKey: 'sk-bench', baseUrl: fake.url, concurrency: 20 }, skipSelfContained: false, questionsPerRequest: perRequest })
    const seconds = Number(process.hrtime.bigint() - t) / 1e9
    rows.push({ perRequest, requests: fake.stats.requests - before, seconds, promptTokens: out.promptTokens, completionTokens: out.completionTokens, llm: out.results.filter((r) => r.source === 'llm').length })
  }
  await fake.close()
  process.stdout.write(JSON.stringify(rows))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
