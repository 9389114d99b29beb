'use strict'
// Child process: embed + dedupe + cluster of N synthetic questions; prints stage times and peak RSS.
const qi = require('..')
const { questions } = require('./synthetic')

async function main() {
  const n = Number(process.argv[2])
  await qi.loadModels()
  const before = qi.modelInfo().peakRssBytes
  const qs = questions(n, 11).map((text, i) => ({ id: String(i), text, confidence: 0.9 }))
  const t = process.hrtime.bigint()
  const r = await qi.cluster(qs)
  const totalMs = Number(process.hrtime.bigint() - t) / 1e6
  process.stdout.write(JSON.stringify({ n, ...r.stats, totalMs, peakRssBytes: qi.modelInfo().peakRssBytes, peakRssAfterLoadBytes: before }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
