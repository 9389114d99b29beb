#!/usr/bin/env node
// Trains the conversation linker and writes models/conversations/linker.json.
//   npm run train:linker                      # IRC #ubuntu train files (hand links) + Gitter docker dialogs
//   options: --out FILE  --l2 1e-4  --iterations 40  --irc-weight 1  --docker-weight 1
//            --hidden 16 (ReLU units of the pair score)  --epochs 6 (Adam epochs for them)
//            --rounds 1 (the first round sees gold conversations, the next ones the model's own)
//            --max-gap-min 120  --max-candidates 40 (the window it is trained for)
//            --holdout   train without the validation part (every 10th IRC train file, docker dialogs
//                        from 2018-06 on) and write to .bench/linker-holdout.json unless --out is given;
//                        `npm run eval:conversations -- --validation --model FILE` scores it there.
// Never trains on the evaluation ground truth: dialogs/irc_ubuntu_links.jsonl (IRC dev files) and
// dialogs/gitter_manual_dialogs.jsonl (hand-made Gitter dialogs).
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(root, '..', 'shared', 'data')

function readJsonl(file) {
  return fs
    .readFileSync(path.join(dataDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
}

/** Epoch ms of IRC stamps in line order, kept monotonic: 12-hour clocks and midnight wraps move
 *  forward by 12 h steps, small backward steps are clamped. */
function ircTimes(stamps) {
  let prev = -Infinity
  let shift = 0
  return stamps.map((s) => {
    let t = Date.parse(`${s}:00Z`) + shift
    if (!Number.isFinite(t)) t = prev
    while (t < prev - 3 * 3600e3) {
      shift += 12 * 3600e3
      t += 12 * 3600e3
    }
    t = Math.max(t, prev)
    prev = t
    return t
  })
}

/** IRC rows of one file (line order, no system lines) → a stream. `scoredFrom`: first scored line. */
function ircStream(file, rows, { scoredFrom = 1000, scoredTo = Infinity } = {}) {
  rows = rows.filter((r) => !r.system && r.author).sort((a, b) => a.line - b.line)
  const times = ircTimes(rows.map((r) => r.timestamp))
  const pos = new Map(rows.map((r, i) => [r.line, i]))
  const convIds = new Map()
  const messages = rows.map((r, i) => ({
    id: `${file}#${r.line}`,
    channelId: file,
    authorId: r.author,
    content: r.text,
    timestamp: times[i],
  }))
  const parents = rows.map((r) => (r.replyTo || []).filter((l) => l !== r.line && pos.has(l)).map((l) => pos.get(l)))
  const conversation = rows.map((r, i) => {
    const key = r.conversation ?? `self#${i}`
    if (!convIds.has(key)) convIds.set(key, convIds.size)
    return convIds.get(key)
  })
  const scored = rows.map((r) => r.line >= scoredFrom && r.line <= scoredTo)
  return { name: file, messages, parents, conversation, scored, lines: rows.map((r) => r.line) }
}

function ircTrainStreams() {
  const byFile = new Map()
  for (const r of readJsonl('dialogs/irc_ubuntu_train_annotated.jsonl')) {
    if (!byFile.has(r.file)) byFile.set(r.file, [])
    byFile.get(r.file).push(r)
  }
  return [...byFile.keys()].sort().map((file, i) => ({ ...ircStream(file, byFile.get(file)), validation: i % 10 === 0 }))
}

/** Dialog rows ({dialog, index, timestamp, author, text}) of one room → a stream in time order. */
function dialogStream(name, rows) {
  rows = rows
    .map((r, k) => ({ ...r, t: Date.parse(`${r.timestamp}Z`), k }))
    .sort((a, b) => a.t - b.t || a.k - b.k)
  const seen = new Map()
  const parents = rows.map((r, i) => {
    const earlier = seen.get(r.dialog) || []
    seen.set(r.dialog, [...earlier, i])
    return earlier
  })
  return {
    name,
    messages: rows.map((r, i) => ({ id: `${name}#${i}`, channelId: name, authorId: r.author, content: r.text, timestamp: r.t })),
    parents,
    conversation: rows.map((r) => r.dialog),
    scored: rows.map(() => true),
    rows,
  }
}

function dockerTrainStreams() {
  const rows = readJsonl('dialogs/gitter_docker_dialogs.jsonl')
  const cut = Date.parse('2018-06-01T00:00:00Z')
  const early = rows.filter((r) => Date.parse(`${r.timestamp}Z`) < cut)
  const late = rows.filter((r) => Date.parse(`${r.timestamp}Z`) >= cut)
  return [
    { ...dialogStream('gitter-docker-auto', early), validation: false },
    { ...dialogStream('gitter-docker-auto-2018h2', late), validation: true },
  ]
}

function trainingStreams() {
  return [...ircTrainStreams().map((s) => ({ ...s, source: 'irc' })), ...dockerTrainStreams().map((s) => ({ ...s, source: 'docker' }))]
}

async function main() {
  const args = process.argv.slice(2)
  const value = (name, fallback) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : fallback
  }
  const holdout = args.includes('--holdout')
  const out = path.resolve(value('out', path.join(root, holdout ? '.bench/linker-holdout.json' : 'models/conversations/linker.json')))
  const weights = { irc: Number(value('irc-weight', 1)), docker: Number(value('docker-weight', 1)) }
  const streams = trainingStreams().filter((s) => !holdout || !s.validation)
  const examples = streams.reduce((n, s) => n + s.scored.filter(Boolean).length, 0)
  console.log(`train:linker: ${streams.length} streams, ${examples} scored messages${holdout ? ' (validation part held out)' : ''}`)
  const qi = require('..')
  const started = Date.now()
  const json = await qi.trainLinker(
    streams.map((s) => ({ messages: s.messages, parents: s.parents, conversation: s.conversation, scored: s.scored, weight: weights[s.source] })),
    {
      l2: Number(value('l2', 1e-4)),
      iterations: Number(value('iterations', 40)),
      rounds: Number(value('rounds', 1)),
      hidden: Number(value('hidden', 16)),
      epochs: Number(value('epochs', 6)),
      maxGapMs: value('max-gap-min') ? Number(value('max-gap-min')) * 60e3 : undefined,
      maxCandidates: value('max-candidates') ? Number(value('max-candidates')) : undefined,
    },
  )
  const model = JSON.parse(json)
  model.trained = {
    ...model.trained,
    data: [
      'dialogs/irc_ubuntu_train_annotated.jsonl (hand links, 153 files, lines >= 1000 scored)',
      'dialogs/gitter_docker_dialogs.jsonl (automatic dialogs, stream rebuilt by timestamp)',
    ],
    holdout,
    weights,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  }
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(model, null, 1) + '\n')
  console.log(`train:linker: wrote ${path.relative(root, out)} (training accuracy ${model.trained.trainingAccuracy.toFixed(3)}, ${model.trained.seconds} s)`)
}

module.exports = { readJsonl, ircTimes, ircStream, ircTrainStreams, dialogStream, dockerTrainStreams, trainingStreams }

if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
