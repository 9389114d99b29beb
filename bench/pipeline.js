'use strict'
// Child process: analyzeTenant end to end on a synthetic chat month of N messages (many authors
// and channels, bursts, ~10% questions, follow-ups within 2 minutes), with the LLM stage on the
// local fake OpenAI server (300 ms per answer, concurrency 20). Prints stage times, peak RSS and
// the event-loop delay while it ran.
const { monitorEventLoopDelay } = require('node:perf_hooks')
const qi = require('..')
const { rng, pick, messages: texts } = require('./synthetic')
const { startFakeOpenAI } = require('../__test__/support/fake-openai')

function month(n, seed = 5) {
  const r = rng(seed)
  const start = Date.UTC(2026, 9, 1)
  const span = 31 * 24 * 3600 * 1000
  const contents = texts(n, seed + 1, 0.1)
  const authors = Math.max(50, Math.floor(n / 40))
  const out = []
  let t = start
  for (let i = 0; i < n; i++) {
    // bursts: most gaps are seconds, some are hours
    t += r() < 0.05 ? Math.floor(r() * 3600_000) : Math.floor(r() * 30_000)
    if (t > start + span) t = start + Math.floor(r() * span)
    const author = `u${Math.floor(r() * authors)}`
    out.push({ id: `m${i}`, channelId: `c${Math.floor(r() * 12)}`, authorId: author, content: contents[i], timestamp: t })
    if (r() < 0.03) out.push({ id: `m${i}f`, channelId: out[out.length - 1].channelId, authorId: author, content: pick(r, ['does it work on v2?', 'any idea?', 'on windows btw']), timestamp: t + 40_000 })
  }
  return out
}

/** The real chat logs of ../shared/data/chatlogs (Gitter docker + IRC ubuntu) as one tenant. */
function realChat() {
  const fs = require('node:fs')
  const path = require('node:path')
  const dir = path.join(process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data'), 'chatlogs')
  const out = []
  for (const file of ['gitter_docker.jsonl', 'irc_ubuntu.jsonl']) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)
    lines.forEach((l, i) => {
      const m = JSON.parse(l)
      out.push({ id: `${file}:${i}`, channelId: m.channel || file, authorId: m.author, content: m.text, timestamp: m.timestamp })
    })
  }
  return out
}

async function main() {
  const n = Number(process.argv[2] || 25000)
  const perRequest = Number(process.argv[3] || 1)
  const fake = await startFakeOpenAI({ delayMs: 300 })
  await qi.loadModels()
  const msgs = process.argv[2] === 'real' ? realChat() : month(n)
  const pages = []
  for (let i = 0; i < msgs.length; i += 1000) pages.push(msgs.slice(i, i + 1000))
  msgs.length = 0
  let k = 0
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const t = process.hrtime.bigint()
  const r = await qi.analyzeTenant({
    tenantId: 'bench',
    month: '2026-10',
    messages: async () => (k < pages.length ? pages[k++] : null),
    options: { llm: { apiKey: 'sk-bench', baseUrl: fake.url, concurrency: 20 }, questionsPerRequest: perRequest },
  })
  const wall = Number(process.hrtime.bigint() - t) / 1e9
  delay.disable()
  await fake.close()
  process.stdout.write(
    JSON.stringify({
      n: r.stats.messages,
      perRequest,
      wallSeconds: wall,
      questions: r.stats.questions,
      unique: r.questions.length,
      clusters: r.stats.clusters,
      llmRequests: r.stats.llmRequests,
      skipped: r.stats.skippedExtraction,
      timings: r.stats.timingsMs,
      peakRssBytes: qi.modelInfo().peakRssBytes,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
    }),
  )
}
if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
