'use strict'
// Child process: classify() throughput on realistic chat (messages/s) at the default batch size,
// with the cascade (default) and with the encoder on every message; projected time for 250k.
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')
const { messages } = require('./synthetic')

function chat(n) {
  const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
  const file = path.join(dataDir, 'chatlogs', 'gitter_docker.jsonl')
  if (fs.existsSync(file)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
    return { source: 'real chat (gitter docker/docker)', texts: lines.slice(0, n).map((l) => JSON.parse(l).text) }
  }
  return { source: 'synthetic chat', texts: messages(n, 3) }
}

async function main() {
  await qi.loadModels()
  const { source, texts } = chat(Number(process.argv[2] || 5000))
  await qi.classify(texts.slice(0, 100))
  const rows = []
  for (const cascade of [true, false]) {
    const t = process.hrtime.bigint()
    const out = await qi.classify(texts, { cascade })
    const s = Number(process.hrtime.bigint() - t) / 1e9
    const stages = out.reduce((m, o) => ((m[o.stage] = (m[o.stage] || 0) + 1), m), {})
    rows.push({ cascade, messages: texts.length, seconds: s, perSecond: texts.length / s, projected250kSeconds: (250000 / texts.length) * s, stages, questions: out.filter((o) => o.isQuestion).length })
  }
  process.stdout.write(JSON.stringify({ source, rows, peakRssBytes: qi.modelInfo().peakRssBytes }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
