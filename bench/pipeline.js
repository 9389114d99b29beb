'use strict'
// Child process: analyzeTenant end to end on a month of N messages, with the LLM stage on the local
// fake OpenAI server (300 ms per answer, concurrency 20), which runs in a process of its own
// (bench/fake-llm-process.js). Prints stage times, peak RSS and the event-loop delay while it
// ran. Months: `synthetic` (many authors and channels, bursts, ~10 % questions, follow-ups
// within 2 minutes), `code` (the real, code-heavy corpus of
// bench/realistic.js) and `gitter` (the real chat logs as they are, as one month).
const { monitorEventLoopDelay } = require('node:perf_hooks')
const qi = require('..')
const { rng, pick, messages: texts } = require('./synthetic')
const { startFakeLlmProcess } = require('./fake-llm-process')

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

async function main() {
  // node bench/pipeline.js <synthetic|code|gitter> [n] [questionsPerRequest]
  const kind = process.argv[2] || 'synthetic'
  const n = Number(process.argv[3] || (kind === 'gitter' ? 40201 : 25000))
  const perRequest = Number(process.argv[4] || 1)
  let nextPage
  let corpus = null
  let monthName = '2026-10'
  if (kind === 'synthetic') {
    const msgs = month(n)
    const pages = []
    for (let i = 0; i < msgs.length; i += 1000) pages.push(msgs.slice(i, i + 1000))
    msgs.length = 0
    let k = 0
    nextPage = async () => (k < pages.length ? pages[k++] : null)
  } else {
    // the real chat logs as a month: with pastes (code) or as they are (gitter); read from a file
    // page by page, as a worker streams a month from its database
    const realistic = require('./realistic')
    const c = realistic.corpusFile(n, { pastes: kind === 'code' })
    corpus = c.summary
    monthName = realistic.MONTH
    nextPage = realistic.pageReader(c.file)
  }
  // the fake LLM runs in a process of its own, as OpenRouter is remote
  const fake = await startFakeLlmProcess(300)
  await qi.loadModels()
  const rssAfterLoad = qi.modelInfo().rssBytes
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  // the highest RSS seen while each stage ran (sampled every 100 ms), to show where memory grows
  let stage = 'classify'
  const stageRss = {}
  const sample = () => (stageRss[stage] = Math.max(stageRss[stage] || 0, process.memoryUsage.rss()))
  const sampler = setInterval(sample, 100)
  const cpu = process.cpuUsage()
  const t = process.hrtime.bigint()
  const r = await qi.analyzeTenant(
    {
      tenantId: 'bench',
      month: monthName,
      messages: nextPage,
      // BENCH_ASK_REVIEW: analyzeTenant's askReview (the fake LLM confirms every candidate it
      // reviews: the most work the review can add); 1 turns the review off
      options: {
        llm: { apiKey: 'sk-bench', baseUrl: fake.url, concurrency: 20 },
        questionsPerRequest: perRequest,
        ...(process.env.BENCH_ASK_REVIEW ? { askReview: Number(process.env.BENCH_ASK_REVIEW) } : {}),
      },
    },
    (p) => {
      sample()
      stage = p.stage
    },
  )
  const wall = Number(process.hrtime.bigint() - t) / 1e9
  const used = process.cpuUsage(cpu)
  clearInterval(sampler)
  delay.disable()
  await fake.close()
  process.stdout.write(
    JSON.stringify({
      kind,
      n: r.stats.messages,
      rejected: r.stats.rejected.length,
      perRequest,
      wallSeconds: wall,
      questions: r.stats.questions,
      asks: r.stats.asks,
      unique: r.questions.length,
      clusters: r.stats.clusters,
      llmRequests: r.stats.llmRequests,
      skipped: r.stats.skippedExtraction,
      timings: r.stats.timingsMs,
      rssAfterLoadBytes: rssAfterLoad,
      peakRssBytes: qi.modelInfo().peakRssBytes,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      cpuSeconds: (used.user + used.system) / 1e6,
      stageRssBytes: stageRss,
      corpus,
    }),
  )
}
if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
