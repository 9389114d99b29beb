#!/usr/bin/env node
// Trains the built-in question head and writes models/classifier/question-head.json.
//   npm run train:classifier                         # NPS Chat train split from ../shared/data
//   npm run train:classifier -- --data mine.jsonl    # your own labelled JSONL ({text, isQuestion}); repeatable
//   options: --out FILE  --c 1  --iterations 1500  --no-default-data
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

async function main() {
  const files = [...(args.includes('--no-default-data') ? [] : [path.join(dataDir, 'nps_chat', 'train.jsonl')]), ...values('data')]
  if (files.length === 0) throw new Error('no training data: pass --data FILE')
  const examples = []
  const sources = []
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`${f} not found`)
    const rows = readJsonl(f)
    examples.push(...rows)
    sources.push({ file: path.basename(f), examples: rows.length, sha256: crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex') })
    console.log(`train: ${f}: ${rows.length} examples, ${rows.filter((r) => r.isQuestion).length} questions`)
  }
  const options = { c: Number(value('c', 1)), iterations: Number(value('iterations', 1500)) }
  const started = Date.now()
  const head = JSON.parse(await qi.trainClassifier(examples, options))
  head.trained = { ...head.trained, sources, command: `npm run train:classifier ${args.join(' ')}`.trim(), seconds: (Date.now() - started) / 1000 }
  const out = value('out', path.join(root, 'models', 'classifier', 'question-head.json'))
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(head) + '\n')
  console.log(`train: wrote ${out} in ${head.trained.seconds.toFixed(1)} s (${head.trained.examples} examples after the skip rules)`)
}

main().catch((e) => {
  console.error(`train: ${e.message}`)
  process.exit(1)
})
