#!/usr/bin/env node
// Evaluates the question classifier on every labelled test split in ../shared/data
// (NPS Chat test, non-System posts): accuracy, precision, recall and F1 of the question class at
// the threshold, a threshold sweep, the confusion matrix, the "contains '?'" baseline, recall on
// questions without a '?', and 20 misclassified examples.
//   node scripts/eval-classifier.js [--threshold 0.7] [--no-cascade] [--max-tokens 64] [--classifier-model DIR]
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')

const args = process.argv.slice(2)
const value = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
const { readLabels } = require('./train-classifier')
const SPLITS = [
  { name: 'nps_chat/test.jsonl', load: (file) => readJsonl(file).filter((r) => r.act !== 'System') },
  {
    name: 'chatlogs (project labels, test split)',
    file: path.join(__dirname, '..', 'data', 'labels', 'chatlogs-questions.jsonl'),
    load: (file) => readLabels(file, dataDir).filter((r) => r.split === 'test'),
  },
]
const readJsonl = (file) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))

function scores(truth, predicted) {
  let tp = 0, fp = 0, tn = 0, fn = 0
  truth.forEach((t, i) => {
    if (t && predicted[i]) tp++
    else if (!t && predicted[i]) fp++
    else if (!t && !predicted[i]) tn++
    else fn++
  })
  const precision = tp / Math.max(1, tp + fp)
  const recall = tp / Math.max(1, tp + fn)
  return { tp, fp, tn, fn, accuracy: (tp + tn) / truth.length, precision, recall, f1: (2 * precision * recall) / Math.max(1e-9, precision + recall) }
}

const pct = (x) => `${(100 * x).toFixed(2)}%`

async function main() {
  const threshold = Number(value('threshold', 0.7))
  const classifierModel = value('classifier-model', undefined)
  if (classifierModel) await qi.loadModels({ classifierModel })
  for (const split of SPLITS) {
    const file = split.file || path.join(dataDir, split.name)
    if (!fs.existsSync(file) || !fs.existsSync(dataDir)) {
      console.log(`${split.name}: not found under ${dataDir}, skipped`)
      continue
    }
    const rows = split.load(file)
    const truth = rows.map((r) => r.isQuestion)
    const started = Date.now()
    const out = await qi.classify(rows.map((r, i) => ({ id: String(i), content: r.text })), { cascade: !args.includes('--no-cascade'), ...(value('max-tokens') ? { maxTokens: Number(value('max-tokens')) } : {}) })
    const seconds = (Date.now() - started) / 1000
    const conf = out.map((o) => o.confidence)
    const predicted = conf.map((c) => c >= threshold)
    const s = scores(truth, predicted)
    const baseline = scores(truth, rows.map((r) => r.text.includes('?')))
    const noMark = rows.map((r, i) => [r, i]).filter(([r]) => r.isQuestion && !r.text.includes('?'))
    const stages = out.reduce((m, o) => ((m[o.stage] = (m[o.stage] || 0) + 1), m), {})
    console.log(`\n${split.name}: ${rows.length} messages, ${truth.filter(Boolean).length} questions — ${seconds.toFixed(1)} s, decided by ${JSON.stringify(stages)}`)
    console.log(`threshold ${threshold}: accuracy ${pct(s.accuracy)}  precision ${pct(s.precision)}  recall ${pct(s.recall)}  F1 ${pct(s.f1)}`)
    console.log(`baseline "contains '?'": accuracy ${pct(baseline.accuracy)}  precision ${pct(baseline.precision)}  recall ${pct(baseline.recall)}  F1 ${pct(baseline.f1)}`)
    console.log(`questions without '?': ${noMark.length}; recall ${pct(noMark.filter(([, i]) => predicted[i]).length / Math.max(1, noMark.length))} (the '?' rule: 0.00%)`)
    console.log('confusion matrix      predicted question  predicted statement')
    console.log(`  actual question     ${String(s.tp).padStart(18)}  ${String(s.fn).padStart(19)}`)
    console.log(`  actual statement    ${String(s.fp).padStart(18)}  ${String(s.tn).padStart(19)}`)
    console.log('threshold sweep:  t     accuracy  precision  recall     F1')
    for (const t of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) {
      const x = scores(truth, conf.map((c) => c >= t))
      console.log(`                  ${t.toFixed(1)}   ${pct(x.accuracy).padStart(7)}  ${pct(x.precision).padStart(8)}  ${pct(x.recall).padStart(7)}  ${pct(x.f1).padStart(7)}`)
    }
    console.log('misclassified (first 20):')
    rows
      .map((r, i) => [r, i])
      .filter(([, i]) => predicted[i] !== truth[i])
      .slice(0, 20)
      .forEach(([r, i]) => console.log(`  ${truth[i] ? 'missed question ' : 'false question  '} ${conf[i].toFixed(2)}  ${JSON.stringify(r.text).slice(0, 100)}`))
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
