#!/usr/bin/env node
// Trains the ask detector's role model and writes models/asks/ask-model.json (compiled into the
// addon: rebuild afterwards, `node scripts/setup.js` does it).
//   npm run train:asks
//   options: --out FILE  --c 0.03,0.1,0.3  --hand-weight 10,30  --iterations 400
//            --hand docker (the hand-label sets to train on, of docker, irc, gitter: the other two
//            are what eval:asks scores, so a set named here is no longer held out)
//            --irc-every 3 (use every n-th IRC training file)
//            --structure linker|given: conversations of the weak data as the linker builds them
//            (default, as asks() will see them) or as the corpus gives them
// Data (read from ../shared/data, never copied):
// - weak labels from dialog structure: in each dialog of gitter_docker_dialogs.jsonl (machine-made)
//   and each conversation of irc_ubuntu_train_annotated.jsonl (hand-linked), the starter's opening
//   turn carries the ask (its first message with a request cue); a question by someone else later
//   is a clarification, a short reaction back-channel, the rest other;
// - the project's hand labels data/labels/asks-docker.jsonl (file + line + label): they alone
//   are scored by the cross-validation that picks C, their weight and the ask threshold.
// asks-irc.jsonl and asks-gitter.jsonl are evaluation sets (npm run eval:asks): never trained on.
'use strict'
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const args = process.argv.slice(2)
const value = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const root = path.resolve(__dirname, '..')
const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(root, '..', 'shared', 'data')

const ROLES = ['ask', 'clarification', 'backchannel', 'other']

function readJsonl(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter((r) => r.line.trim())
    .map((r) => ({ ...JSON.parse(r.line), _line: r.n }))
}

/** Epoch ms of a zone-less ISO string (UTC). */
const ms = (ts) => Date.parse(ts.length === 16 ? `${ts}:00Z` : `${ts}Z`)

/**
 * IRC times: minute resolution, a 12-hour clock in 2004-2005 logs, midnight crossings and a few
 * files where the time runs backwards. Rows are in line order; this gives them non-decreasing
 * epoch ms (a jump back of more than 6 h is read as the clock wrapping), one second apart
 * within a minute.
 */
function ircTimes(rows) {
  let prev = null
  let minute = null
  let k = 0
  return rows.map((r) => {
    let t = ms(r.timestamp)
    if (prev !== null) {
      while (t < prev - 6 * 3600e3) t += 12 * 3600e3
      if (t < prev) t = prev - (prev % 60e3)
    }
    if (t === minute) k = Math.min(k + 1, 59)
    else {
      minute = t
      k = 0
    }
    prev = t
    return t + k * 1000
  })
}

const CUE = /\?|\b(how|what|why|where|which|when|is there|anyone|anybody|someone|somebody|help|error|errors|fail\w*|can'?t|cannot|doesn'?t|don'?t|won'?t|isn'?t|not working|problem|issue|trying|try|tried|need|want|wondering|possible|way to|unable|getting|stuck)\b/i
const BACKCHANNEL = /^\W*(huh|oh+|hm+|really|ok(ay)?|k+|lol|lmao|what|wat|eh|ah+|aha|wow|right|yes|yeah|yep|no|nope|nice|cool|i see|ic|seriously|sure|great|thanks|thx|ty)\W*$/i
const words = (t) => (t.match(/[\p{L}\p{N}']+/gu) || []).length

/**
 * Weak role labels from conversation structure. `msgs` is one stream: each message has
 * `conversation`, `authorId`, `content`, in time order. Conversations in `unknownStarter` get none.
 */
function weakLabels(msgs, unknownStarter = new Set()) {
  const byConv = new Map()
  for (const m of msgs) {
    if (!byConv.has(m.conversation)) byConv.set(m.conversation, [])
    byConv.get(m.conversation).push(m)
  }
  for (const [id, members] of byConv) {
    if (unknownStarter.has(id)) continue
    const starter = members[0].authorId
    let k = 0
    while (k < members.length && members[k].authorId === starter) k++
    const opening = members.slice(0, k)
    const carrier = opening.find((m) => CUE.test(m.content) && words(m.content) >= 2)
    for (const m of opening) m.label = m === carrier ? 'ask' : 'other'
    for (const m of members.slice(k)) {
      const q = m.content.includes('?')
      if (BACKCHANNEL.test(m.content) || (q && words(m.content) <= 1)) m.label = 'backchannel'
      else if (m.authorId !== starter && q) m.label = 'clarification'
      else if (m.authorId === starter && q) m.label = null // a new ask or a check-back: unknown
      else m.label = 'other'
    }
  }
  return msgs
}

/** The machine-made docker dialogs as one stream, with weak labels. */
function dockerDialogs() {
  const rows = readJsonl(path.join(dataDir, 'dialogs', 'gitter_docker_dialogs.jsonl'))
  const msgs = rows.map((r) => ({
    id: `d${r.dialog}.${r.index}`,
    channelId: 'docker',
    authorId: r.author,
    content: r.text,
    timestamp: ms(r.timestamp),
    conversation: `d${r.dialog}`,
    _order: [ms(r.timestamp), r.dialog, r.index],
  }))
  msgs.sort((a, b) => a._order[0] - b._order[0] || a._order[1] - b._order[1] || a._order[2] - b._order[2])
  msgs.forEach((m) => delete m._order)
  return weakLabels(msgs)
}

/** Hand-linked IRC training files (every `every`-th), one stream each, with weak labels. */
function ircTrain(every) {
  const rows = readJsonl(path.join(dataDir, 'dialogs', 'irc_ubuntu_train_annotated.jsonl'))
  const files = new Map()
  for (const r of rows) {
    if (r.system || !r.author) continue
    if (!files.has(r.file)) files.set(r.file, [])
    files.get(r.file).push(r)
  }
  const streams = []
  ;[...files.keys()].sort().forEach((file, i) => {
    if (i % every !== 0) return
    const list = files.get(file).sort((a, b) => a.line - b.line)
    const times = ircTimes(list)
    const msgs = list.map((r, j) => ({
      id: `${file}#${r.line}`,
      channelId: file,
      authorId: r.author,
      content: r.text,
      timestamp: times[j],
      conversation: r.conversation,
    }))
    // conversations that began before the annotated lines: their opener is unknown
    const unknown = new Set(list.map((r) => r.conversation).filter((c) => Number(c.split('#')[1]) < 1000))
    streams.push(weakLabels(msgs, unknown))
  })
  return streams
}

/** Hand labels {file, line, label} by reference into the data folder. */
function readLabels(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const row = JSON.parse(l)
      if (!ROLES.includes(row.label)) throw new Error(`${file}:${i + 1}: label ${JSON.stringify(row.label)} is not a role`)
      return row
    })
}

/**
 * The labelled stretches of a chatlog as streams: each run of labelled lines (gaps under 200
 * lines) from `before` lines ahead of it to `after` lines past it. Message ids are the physical
 * line numbers. IRC files are streams of their own (`file` field), ordered by line.
 */
function chatlogStreams(labels, { before = 150, after = 30 } = {}) {
  const byFile = new Map()
  for (const l of labels) {
    if (!byFile.has(l.file)) byFile.set(l.file, new Map())
    byFile.get(l.file).set(l.line, l.label)
  }
  const streams = []
  for (const [file, labelled] of byFile) {
    const lines = fs.readFileSync(path.join(dataDir, file), 'utf8').split('\n')
    const windows = []
    for (const n of [...labelled.keys()].sort((a, b) => a - b)) {
      const lo = Math.max(1, n - before)
      const last = windows[windows.length - 1]
      if (last && (lo <= last[1] || n - last[2] < 200)) {
        last[1] = Math.min(lines.length, n + after)
        last[2] = n
      } else windows.push([lo, Math.min(lines.length, n + after), n])
    }
    for (const [lo, hi] of windows) {
      const rows = []
      for (let n = lo; n <= hi; n++) if (lines[n - 1] && lines[n - 1].trim()) rows.push({ ...JSON.parse(lines[n - 1]), _line: n })
      const groups = new Map()
      for (const r of rows) {
        const key = r.file || file
        if (!groups.has(key)) groups.set(key, [])
        groups.get(key).push(r)
      }
      for (const [key, list] of groups) {
        const irc = Boolean(list[0].file)
        if (irc) list.sort((a, b) => a.line - b.line)
        const times = irc ? ircTimes(list) : list.map((r) => ms(r.timestamp))
        const msgs = list.map((r, j) => ({
          id: String(r._line),
          channelId: key,
          authorId: r.author,
          content: r.text,
          timestamp: times[j],
          gold: labelled.get(r._line) ?? null,
          source: file,
        }))
        if (msgs.some((m) => m.gold)) streams.push(msgs)
      }
    }
  }
  return streams
}

/**
 * The hand-made Gitter dialogs of the rooms the labels name (in the labels' order), but for the
 * rooms in `except`: each room's dialogs as one stream by time, after deduplication on (project,
 * timestamp, author, text); a line's label goes to its message.
 */
function manualStreams(labels, except = []) {
  const file = 'dialogs/gitter_manual_dialogs.jsonl'
  const gold = new Map(labels.filter((l) => l.file === file).map((l) => [l.line, l.label]))
  const rows = readJsonl(path.join(dataDir, file))
  const roomOf = new Map(rows.map((r) => [r._line, r.project]))
  const rooms = [...new Set([...gold.keys()].map((line) => roomOf.get(line)))].filter((room) => !except.includes(room))
  const streams = []
  for (const room of rooms) {
    const seen = new Map()
    const msgs = []
    for (const r of rows.filter((x) => x.project === room)) {
      const key = JSON.stringify([r.timestamp, r.author, r.text])
      let m = seen.get(key)
      if (!m) {
        m = {
          id: String(r._line),
          channelId: room,
          authorId: r.author,
          content: r.text,
          timestamp: ms(r.timestamp),
          gold: null,
          source: file,
          _order: [ms(r.timestamp), r.dialog, r.index],
        }
        seen.set(key, m)
        msgs.push(m)
      }
      if (m.gold === null && gold.has(r._line)) m.gold = gold.get(r._line)
    }
    msgs.sort((a, b) => a._order[0] - b._order[0] || a._order[1] - b._order[1] || a._order[2] - b._order[2])
    msgs.forEach((m) => delete m._order)
    if (msgs.some((m) => m.gold)) streams.push(msgs)
  }
  return streams
}

const HAND_SETS = ['docker', 'irc', 'gitter']

/** The file of a set of hand labels. */
const handLabelsFile = (set) => path.join(root, 'data', 'labels', `asks-${set}.jsonl`)

/**
 * The streams of a set of hand labels, `data/labels/asks-<set>.jsonl`: IRC dev files whole, the
 * Gitter rooms other than docker by room, docker by labelled stretch.
 */
function handStreams(set) {
  if (!HAND_SETS.includes(set)) throw new Error(`--hand: no hand-label set ${JSON.stringify(set)} (sets: ${HAND_SETS.join(', ')})`)
  const labels = readLabels(handLabelsFile(set))
  if (set === 'irc') return chatlogStreams(labels, { before: 1e9, after: 1e9 })
  // docker's room is the training set's (asks-docker.jsonl)
  if (set === 'gitter') return manualStreams(labels, ['docker'])
  return chatlogStreams(labels)
}

/**
 * P(question) of every message (sets `question`), classifying each distinct text once; results
 * are cached in out/ per classifier head, so that retraining does not classify again.
 */
async function withQuestionProbabilities(qi, messages) {
  const head = path.join(root, 'models', 'classifier', 'question-head.json')
  const tag = crypto.createHash('sha256').update(fs.existsSync(head) ? fs.readFileSync(head) : '').digest('hex').slice(0, 12)
  const file = path.join(root, 'out', `asks-question-cache-${tag}.json`)
  const cache = new Map(fs.existsSync(file) ? Object.entries(JSON.parse(fs.readFileSync(file, 'utf8'))) : [])
  const missing = [...new Set(messages.map((m) => m.content).filter((t) => !cache.has(t)))]
  for (let i = 0; i < missing.length; i += 4096) {
    const batch = missing.slice(i, i + 4096)
    const out = await qi.classify(batch.map((content, k) => ({ id: String(k), content })))
    out.forEach((o, k) => cache.set(batch[k], o.confidence))
    console.log(`train: classified ${Math.min(i + 4096, missing.length)}/${missing.length} texts`)
  }
  if (missing.length) {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify(Object.fromEntries(cache)))
  }
  for (const m of messages) m.question = cache.get(m.content)
}

async function main() {
  const qi = require('..')
  const started = Date.now()
  const structure = value('structure', 'linker')
  const weak = [dockerDialogs(), ...ircTrain(Number(value('irc-every', 3)))]
  if (structure === 'linker') weak.forEach((s) => s.forEach((m) => delete m.conversation))
  const handSets = value('hand', 'docker').split(',')
  const hand = handSets.flatMap((set) => handStreams(set))
  const handFile = handSets.map((set) => path.relative(root, handLabelsFile(set))).join(', ')
  // folds: the labelled stretches
  hand.forEach((stream, k) =>
    stream.forEach((m) => {
      if (m.gold) Object.assign(m, { label: m.gold, fold: k })
    }),
  )
  const labelled = hand.flat().filter((m) => m.gold)
  const folds = hand.length
  await withQuestionProbabilities(qi, [...weak, ...hand].flat())
  const streams = [...weak, ...hand].map((messages) => ({
    messages: messages.map(({ id, channelId, authorId, content, timestamp, label, weight, fold, conversation, question }) => ({
      id, channelId, authorId, content, timestamp, label: label ?? null, weight, fold, conversation, question,
    })),
  }))
  const count = (ms) => Object.fromEntries(ROLES.map((r) => [r, ms.filter((m) => m.label === r).length]))
  console.log(`train: weak labels ${JSON.stringify(count(weak.flat()))} in ${weak.length} streams (${structure} structure)`)
  console.log(`train: hand labels ${JSON.stringify(count(labelled))} (${handFile}, ${folds} stretches = folds)`)
  const list = (name, d) => value(name, d).split(',').map(Number)
  const options = {
    c: list('c', '0.03,0.1,0.3'),
    handWeight: list('hand-weight', '10,30'),
    iterations: Number(value('iterations', 400)),
    folds,
  }
  const model = JSON.parse(await qi.trainAsks(streams, options))
  for (const g of model.trained.grid) {
    console.log(`  C ${g.c}  hand weight ${g.handWeight}: threshold ${g.threshold.toFixed(2)}  P ${g.precision.toFixed(3)}  R ${g.recall.toFixed(3)}  F1 ${g.f1.toFixed(3)}`)
  }
  model.trained = {
    ...model.trained,
    structure,
    handLabels: handFile,
    command: `npm run train:asks ${args.join(' ')}`.trim(),
    seconds: (Date.now() - started) / 1000,
  }
  const out = value('out', path.join(root, 'models', 'asks', 'ask-model.json'))
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(model) + '\n')
  // the model is compiled in: make setup.js see a changed source so that it rebuilds the addon
  const now = new Date()
  fs.utimesSync(path.join(root, 'src', 'asks', 'model.rs'), now, now)
  console.log(`train: wrote ${out} (threshold ${model.threshold}) in ${model.trained.seconds.toFixed(1)} s; rebuild with node scripts/setup.js`)
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`train: ${e.message}`)
    process.exit(1)
  })
}

module.exports = { ROLES, handStreams, handLabelsFile, ircTimes, dockerDialogs, ircTrain, readJsonl, dataDir }
