#!/usr/bin/env node
// Trains the built-in question head and writes models/classifier/question-head.json.
//   npm run train:classifier                         # NPS Chat train split from ../shared/data
//   npm run train:classifier -- --data mine.jsonl    # your own labelled JSONL ({text, isQuestion}); repeatable
//   npm run train:classifier -- --labels data/labels/x.jsonl  # labels by reference: {file, line, isQuestion, split}
//                                                   # into ../shared/data (only split "train" rows are used)
//   options: --out FILE  --c 1  --iterations 1500  --labels-weight 3  --no-default-data
//            --band LOW,HIGH (the lexical stage's band; default: chosen by 5-fold cross-validation)
// By default it trains on NPS Chat train plus the project's own labels of real tech-support chat
// (data/labels/chatlogs-questions.jsonl: file + line + label, never the third-party text) and
// the project's own hand-written examples of in-domain chat (data/labels/own-examples.jsonl).
// NPS Chat is licensed for non-commercial research only: a head trained on it inherits that;
// train on data you own (--no-default-data --data …) for commercial use.
'use strict'
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')

const args = process.argv.slice(2)
const values = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []))
const value = (name, fallback) => values(name)[0] ?? fallback
const root = path.resolve(__dirname, '..')
const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(root, '..', 'shared', 'data')

function readJsonl(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => [line.trim(), i + 1])
    .filter(([line]) => line)
    .map(([line, n]) => {
      let row
      try {
        row = JSON.parse(line)
      } catch (e) {
        throw new Error(`${file}:${n}: not JSON (${e.message})`)
      }
      if (row.act === 'System') return null // NPS join/part notices are not messages
      if (typeof row.text !== 'string' || typeof row.isQuestion !== 'boolean') throw new Error(`${file}:${n}: expected {text: string, isQuestion: boolean}`)
      return { text: row.text, isQuestion: row.isQuestion }
    })
    .filter(Boolean)
}

/** Labels by reference: each row names a line of a file under the data folder. */
function readLabels(file, dataDir) {
  const cache = new Map()
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const row = JSON.parse(l)
      if (!cache.has(row.file)) cache.set(row.file, fs.readFileSync(path.join(dataDir, row.file), 'utf8').split('\n'))
      const line = cache.get(row.file)[row.line - 1]
      if (!line) throw new Error(`${file}: ${row.file}:${row.line} does not exist`)
      return { text: JSON.parse(line).text, isQuestion: row.isQuestion, split: row.split }
    })
}

async function main() {
  const defaults = !args.includes('--no-default-data')
  const files = [...(defaults ? [path.join(dataDir, 'nps_chat', 'train.jsonl')] : []), ...values('data')]
  // the project's own examples (our text): weighted like the labels below
  const ownFiles = defaults ? [path.join(root, 'data', 'labels', 'own-examples.jsonl')] : []
  const labelFiles = [...(defaults ? [path.join(root, 'data', 'labels', 'chatlogs-questions.jsonl')] : []), ...values('labels')]
  if (files.length + labelFiles.length === 0) throw new Error('no training data: pass --data FILE')
  const examples = []
  const sources = []
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`${f} not found`)
    const rows = readJsonl(f)
    examples.push(...rows)
    sources.push({ file: path.basename(f), examples: rows.length, sha256: crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex') })
    console.log(`train: ${f}: ${rows.length} examples, ${rows.filter((r) => r.isQuestion).length} questions`)
  }
  const weight = Number(value('labels-weight', 3))
  for (const f of ownFiles) {
    const rows = readJsonl(f)
    for (let k = 0; k < weight; k++) examples.push(...rows)
    sources.push({ file: path.basename(f), examples: rows.length, weight })
    console.log(`train: ${f}: ${rows.length} examples (weight ${weight}), ${rows.filter((r) => r.isQuestion).length} questions`)
  }
  for (const f of labelFiles) {
    const rows = readLabels(f, dataDir).filter((r) => r.split !== 'test')
    for (let k = 0; k < weight; k++) examples.push(...rows.map(({ text, isQuestion }) => ({ text, isQuestion })))
    sources.push({ file: path.basename(f), examples: rows.length, weight, sha256: crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex') })
    console.log(`train: ${f}: ${rows.length} labelled messages (weight ${weight}), ${rows.filter((r) => r.isQuestion).length} questions`)
  }
  const options = { c: Number(value('c', 1)), iterations: Number(value('iterations', 1500)) }
  if (value('band')) options.band = value('band').split(',').map(Number)
  const started = Date.now()
  const head = JSON.parse(await qi.trainClassifier(examples, options))
  head.trained = { ...head.trained, sources, command: `npm run train:classifier ${args.join(' ')}`.trim(), seconds: (Date.now() - started) / 1000 }
  const out = value('out', path.join(root, 'models', 'classifier', 'question-head.json'))
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(head) + '\n')
  console.log(`train: wrote ${out} in ${head.trained.seconds.toFixed(1)} s (${head.trained.examples} examples after the skip rules)`)
  console.log(`train: band [${head.band.join(', ')}]${head.trained.band ? `, cross-validation ${JSON.stringify(head.trained.band)}` : ''}`)
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`train: ${e.message}`)
    process.exit(1)
  })
}

module.exports = { readLabels }
