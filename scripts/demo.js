#!/usr/bin/env node
// The demo: clusters the project's own sample of chat questions and prints the clusters.
'use strict'
const path = require('node:path')
const qi = require('..')

async function main() {
  const sample = require(path.join(__dirname, '..', 'data', 'sample-questions.json'))
  const info = await qi.loadModels()
  console.log(`question-insights demo — encoder ${info.models[0].package} ${info.models[0].version}, ONNX Runtime ${info.onnxRuntimeVersion}\n`)
  const result = await qi.cluster(sample.questions)
  const s = result.stats
  console.log(`${s.questions} questions → ${s.unique} unique (${s.duplicates} duplicates) → ${s.clusters} clusters, ${s.unclustered} unclustered`)
  console.log(`time: embed ${s.embedMs.toFixed(0)} ms, dedupe ${s.dedupeMs.toFixed(0)} ms, cluster ${s.clusterMs.toFixed(0)} ms\n`)
  for (const c of result.clusters) {
    console.log(`#${c.id + 1}  ${c.size} questions  (cohesion ${c.cohesion.toFixed(2)})`)
    console.log(`    “${c.representative.text}”`)
    for (const sample of c.samples.slice(1)) console.log(`      · ${sample.text}`)
    console.log()
  }
  if (result.unclustered.length) {
    console.log('Unclustered:')
    for (const u of result.unclustered) console.log(`      · ${u.text}`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
