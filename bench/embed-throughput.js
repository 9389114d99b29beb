'use strict'
// Child process: embedding throughput (texts/s) on short chat-like texts at several batch sizes,
// with the int8 encoder (the default) and the fp32 one.
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')
const { messages } = require('./synthetic')

function chatTexts(n) {
  const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
  const file = path.join(dataDir, 'chatlogs', 'gitter_docker.jsonl')
  if (fs.existsSync(file)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n)
    return { source: 'real chat (gitter docker/docker)', texts: lines.map((l) => JSON.parse(l).text) }
  }
  return { source: 'synthetic chat', texts: messages(n, 7) }
}

async function main() {
  await qi.loadModels()
  const { source, texts } = chatTexts(2000)
  const rows = []
  for (const precision of ['int8', 'fp32']) {
    await qi.embed(texts.slice(0, 64), { precision }) // warm-up (and, for fp32, loading its session)
    for (const [batchSize, n] of [[1, 300], [32, 2000], [128, 2000]]) {
      const sample = texts.slice(0, n)
      const t = process.hrtime.bigint()
      await qi.embed(sample, { batchSize, precision })
      const s = Number(process.hrtime.bigint() - t) / 1e9
      rows.push({ precision, batchSize, texts: n, seconds: s, textsPerSecond: n / s })
    }
  }
  const info = qi.modelInfo()
  const { int8Weights } = info.models.find((m) => m.name === 'minilm')
  process.stdout.write(JSON.stringify({ source, rows, int8Weights, peakRssBytes: info.peakRssBytes }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
