#!/usr/bin/env node
// Clusters CLINC150 (../shared/data/clinc150) with the default options — not told the number
// of intents — and scores the clusters against the intents (NMI, ARI).
//   node scripts/eval-cluster.js [--split test|val] [--linkage ward] [--thresholds 0.8,1,1.2]
//                                [--precision int8,fp32]
// Tune on val only; report on test.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')
const { nmi, ari } = require('./metrics')

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

async function main() {
  const split = arg('split', 'test')
  const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
  const file = path.join(dataDir, 'clinc150', `${split}.jsonl`)
  if (!fs.existsSync(file)) {
    console.error(`eval:cluster: ${file} not found (set QUESTION_INSIGHTS_DATA to the folder holding clinc150/)`)
    process.exit(1)
  }
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const questions = rows.map((r, i) => ({ id: String(i), text: r.text }))
  const truth = rows.map((r) => r.intent)
  const linkage = arg('linkage', undefined)
  const thresholds = arg('thresholds', undefined)
  const thresholdRuns = thresholds ? thresholds.split(',').map(Number) : [undefined]
  // the encoder: int8 (the default) and/or fp32, to compare them in one run
  const precisions = arg('precision', 'int8').split(',')
  const runs = precisions.flatMap((precision) => thresholdRuns.map((t) => ({ precision, t })))
  console.log(`CLINC150 ${split}: ${rows.length} texts, ${new Set(truth).size} intents (not given to the clustering)`)
  console.log('encoder  linkage   threshold  clusters  unclustered     NMI     ARI   time')
  for (const { precision, t } of runs) {
    const options = { precision }
    if (linkage) options.linkage = linkage
    if (arg('cap')) options.maxCentroidDistance = Number(arg('cap'))
    if (t !== undefined) options.distanceThreshold = t
    const started = Date.now()
    const result = await qi.cluster(questions, options)
    const ms = Date.now() - started
    const predicted = new Array(rows.length)
    result.clusters.forEach((c) => c.messageIds.forEach((id) => (predicted[Number(id)] = `c${c.id}`)))
    // unclustered texts count as singletons (their duplicates share one)
    result.unclustered.forEach((u) => u.messageIds.forEach((id) => (predicted[Number(id)] = `u${u.id}`)))
    const missing = predicted.findIndex((p) => p === undefined)
    if (missing >= 0) throw new Error(`text ${missing} is in no cluster and not unclustered`)
    console.log(
      `${precision.padEnd(8)} ${(linkage || 'ward').padEnd(9)} ${String(t ?? 'default').padStart(9)}  ${String(result.stats.clusters).padStart(8)}  ${String(result.stats.unclustered).padStart(11)}  ${nmi(truth, predicted).toFixed(3).padStart(6)}  ${ari(truth, predicted).toFixed(3).padStart(6)}  ${(ms / 1000).toFixed(1)}s`,
    )
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
