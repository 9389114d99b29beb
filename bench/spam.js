'use strict'
// Child process: a spam wave through cluster() (or dedupe() alone, with `dedupe` as third
// argument): `identical` copies of one question interleaved with `distinct` different questions
// (default options). Prints stage times, the RSS after loading the models, the RSS just before
// the call (the 20 000 input texts built, garbage collected) and the peak RSS, so that the extra
// memory of the call itself shows.
const qi = require('..')
const { questions } = require('./synthetic')

function distinctQuestions(n, seed) {
  const seen = new Set()
  for (let round = 0; seen.size < n; round++) {
    for (const q of questions(n, seed + round)) {
      if (seen.size < n) seen.add(q)
    }
    // the templates give a limited number of sentences: number them past that
    if (round > 20) for (let i = 0; seen.size < n; i++) seen.add(`${questions(1, seed + i)[0]} (case ${i})`)
  }
  return [...seen]
}

async function main() {
  const identical = Number(process.argv[2] || 10000)
  const distinct = Number(process.argv[3] || 10000)
  await qi.loadModels()
  const rssAfterLoad = qi.modelInfo().rssBytes
  const others = distinctQuestions(distinct, 21)
  const spam = 'is the server down right now?'
  const texts = []
  for (let i = 0; i < Math.max(identical, distinct); i++) {
    if (i < identical) texts.push(spam)
    if (i < distinct) texts.push(others[i])
  }
  const qs = texts.map((text, i) => ({ id: String(i), text, confidence: 0.9 }))
  const call = process.argv[4] === 'dedupe' ? 'dedupe' : 'cluster'
  // building the inputs grows the JS heap (about 28 MB here), which V8 keeps: that is the
  // caller's, not the call's
  if (global.gc) global.gc()
  const rssBeforeCall = qi.modelInfo().rssBytes
  const t = process.hrtime.bigint()
  const r = call === 'dedupe' ? { stats: { unique: (await qi.dedupe(qs)).length } } : await qi.cluster(qs)
  const totalMs = Number(process.hrtime.bigint() - t) / 1e6
  process.stdout.write(
    JSON.stringify({
      call,
      identical,
      distinct,
      ...r.stats,
      totalMs,
      rssAfterLoadBytes: rssAfterLoad,
      rssBeforeCallBytes: rssBeforeCall,
      peakRssBytes: qi.modelInfo().peakRssBytes,
    }),
  )
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
