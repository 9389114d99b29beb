#!/usr/bin/env node
// Scores conversation reconstruction against hand-made ground truth (NMI, ARI, Shen-F, exact-match F1):
//   - IRC #ubuntu: the 10 dev files (chatlogs/irc_ubuntu.jsonl + dialogs/irc_ubuntu_links.jsonl); each
//     whole file is fed as one stream, the annotated lines (1000-1249) are scored; averaged over files;
//   - Gitter: the hand-made dialogs of dialogs/gitter_manual_dialogs.jsonl, one stream per room
//     (deduplicated on project, timestamp, author, text); averaged over the 6 rooms other than docker.
//     The docker room is the room the linker trained on (automatic dialogs), so it is shown apart.
// Systems: our linker, "every message on its own", and a plain time-gap rule (same channel, gap
// <= GAP_RULE_MIN → same conversation; N picked once on the training streams with --sweep-gap).
//   npm run eval:conversations
//   options: --model FILE   a linker JSON (from npm run train:linker) instead of the built-in one
//            --validation   score on the held-out part of the training data instead (see train-linker.js --holdout)
//            --sweep-gap    time-gap rule on the training streams for N = 1..60 min (how N was picked)
//            --threshold P, --max-reply-gap-h H (the linker's maxReplyGapMs, in hours), --digits 3
//            --speed        time the linker on 250k messages (Gitter docker repeated over 20 channels)
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')
const { nmi, ari, shenF, exactF1 } = require('./metrics')
const { readJsonl, ircStream, dialogStream, trainingStreams } = require('./train-linker')

/** Minutes of the time-gap baseline, picked once on the training streams (`--sweep-gap`). */
const GAP_RULE_MIN = 3
const LIVECHAT_FF = { nmi: 0.74, ari: 0.57, shenF: 0.81, f1: 0.47 }

const args = process.argv.slice(2)
const value = (name) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

function ircDevStreams() {
  const links = new Map(readJsonl('dialogs/irc_ubuntu_links.jsonl').map((r) => [`${r.file}#${r.line}`, r]))
  const byFile = new Map()
  for (const r of readJsonl('chatlogs/irc_ubuntu.jsonl')) {
    if (!byFile.has(r.file)) byFile.set(r.file, [])
    const link = links.get(`${r.file}#${r.line}`)
    byFile.get(r.file).push({ ...r, conversation: link ? link.conversation : undefined, annotated: Boolean(link) })
  }
  return [...byFile.keys()].sort().map((file) => {
    const s = ircStream(file, byFile.get(file))
    const annotated = new Set(byFile.get(file).filter((r) => r.annotated).map((r) => r.line))
    return { ...s, scored: s.lines.map((l) => annotated.has(l)) }
  })
}

function gitterStreams() {
  const byRoom = new Map()
  const seen = new Set()
  for (const r of readJsonl('dialogs/gitter_manual_dialogs.jsonl')) {
    const key = JSON.stringify([r.project, r.timestamp, r.author, r.text])
    if (seen.has(key)) continue // a stretch annotated twice keeps its first dialog
    seen.add(key)
    if (!byRoom.has(r.project)) byRoom.set(r.project, [])
    byRoom.get(r.project).push(r)
  }
  return [...byRoom.keys()].sort().map((room) => dialogStream(room, byRoom.get(room)))
}

/** Scores one stream's predicted conversation ids on its scored messages. */
function score(stream, predicted) {
  const idx = stream.scored.flatMap((s, i) => (s ? [i] : []))
  const gold = idx.map((i) => stream.conversation[i])
  const pred = idx.map((i) => predicted[i])
  return { nmi: nmi(gold, pred), ari: ari(gold, pred), shenF: shenF(gold, pred), f1: exactF1(gold, pred), n: idx.length }
}

/** Linker options: a --model's own window, --threshold. */
function linkerOptions(model) {
  const options = {}
  if (model) {
    const t = JSON.parse(model).trained || {}
    Object.assign(options, { model, maxGapMs: t.maxGapMs, maxCandidates: t.maxCandidates })
  }
  if (value('threshold')) options.threshold = Number(value('threshold'))
  if (value('max-reply-gap-h')) options.maxReplyGapMs = Number(value('max-reply-gap-h')) * 3600e3
  return options
}

async function run(stream, system, model) {
  if (system === 'singletons') return stream.messages.map((m) => m.id)
  const options = system === 'gap' ? { linker: false, maxGapMs: GAP_RULE_MIN * 60e3 } : linkerOptions(model)
  const out = await qi.conversations(stream.messages, options)
  return out.messages.map((m) => m.conversationId)
}

const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length
const KEYS = ['nmi', 'ari', 'shenF', 'f1']

async function evaluate(sets, model) {
  const systems = [
    ['linker', 'our linker'],
    ['gap', `time gap <= ${GAP_RULE_MIN} min`],
    ['singletons', 'every message alone'],
  ]
  const rows = []
  for (const [system, label] of systems) {
    const row = { label, sets: [] }
    for (const set of sets) {
      const scores = []
      for (const s of set.streams) scores.push(score(s, await run(s, system, model)))
      row.sets.push(Object.fromEntries(KEYS.map((k) => [k, mean(scores, k)])))
      if (system === 'linker' && args.includes('--verbose')) {
        set.streams.forEach((s, i) => console.log(`  ${s.name}: ${KEYS.map((k) => `${k} ${scores[i][k].toFixed(3)}`).join('  ')} (${scores[i].n})`))
      }
    }
    rows.push(row)
  }
  const digits = Number(value('digits') || 2)
  const f = (x) => x.toFixed(digits).padStart(digits + 4)
  const header = 'system'.padEnd(27) + sets.map((s) => `| ${s.label.padEnd(27)}`).join('')
  const sub = ''.padEnd(27) + sets.map(() => `| ${KEYS.map((k) => (k === 'shenF' ? 'ShenF' : k.toUpperCase()).padStart(6)).join('')}   `).join('')
  console.log(header)
  console.log(sub)
  console.log('-'.repeat(sub.length))
  for (const r of rows) console.log(r.label.padEnd(27) + r.sets.map((x) => `| ${KEYS.map((k) => f(x[k])).join('')}   `).join(''))
  console.log('LiveChat FF (Gitter ref.)'.padEnd(27) + `| ${KEYS.map((k) => f(LIVECHAT_FF[k])).join('')}   ` + '  (published, hand-made Gitter dialogs)')
  return rows
}

async function sweepGap() {
  const streams = trainingStreams()
  console.log('time-gap rule on the training streams (IRC train files, docker auto dialogs): mean NMI / Shen-F / F1')
  for (const min of [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 60]) {
    const by = { irc: [], docker: [] }
    for (const s of streams) {
      const out = await qi.conversations(s.messages, { linker: false, maxGapMs: min * 60e3 })
      by[s.source].push(score(s, out.messages.map((m) => m.conversationId)))
    }
    const avg = (k) => ((mean(by.irc, k) + mean(by.docker, k)) / 2).toFixed(3)
    console.log(`  N = ${String(min).padStart(2)} min: NMI ${avg('nmi')}  Shen-F ${avg('shenF')}  F1 ${avg('f1')}  ARI ${avg('ari')}`)
  }
}

async function speed() {
  const rows = readJsonl('chatlogs/gitter_docker.jsonl')
  const messages = []
  for (let k = 0; messages.length < 250000; k++) {
    for (const [i, r] of rows.entries()) {
      if (messages.length >= 250000) break
      messages.push({ id: `${k}-${i}`, channelId: `c${(i + k) % 20}`, authorId: r.author, content: r.text, timestamp: Date.parse(`${r.timestamp}Z`) / 20 + k * 1e9 })
    }
  }
  const t0 = process.hrtime.bigint()
  const out = await qi.conversations(messages)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  console.log(`speed: ${messages.length} messages in 20 channels → ${out.conversations.length} conversations in ${(ms / 1000).toFixed(2)} s (conversion included)`)
}

async function main() {
  const modelFile = value('model')
  const model = modelFile ? fs.readFileSync(path.resolve(modelFile), 'utf8') : undefined
  if (args.includes('--sweep-gap')) return sweepGap()
  if (args.includes('--speed')) return speed()
  if (args.includes('--validation')) {
    const v = trainingStreams().filter((s) => s.validation)
    console.log('Validation part of the training data (held out by train:linker --holdout)\n')
    return evaluate(
      [
        { label: `IRC train val (${v.filter((s) => s.source === 'irc').length} files)`, streams: v.filter((s) => s.source === 'irc') },
        { label: 'docker auto 2018-06+', streams: v.filter((s) => s.source === 'docker') },
      ],
      model,
    )
  }
  const irc = ircDevStreams()
  const gitter = gitterStreams()
  console.log(`Conversation disentanglement on hand-made ground truth${modelFile ? ` (model ${modelFile})` : ''}`)
  console.log(`  IRC #ubuntu dev: ${irc.length} files, ${irc.reduce((n, s) => n + s.scored.filter(Boolean).length, 0)} annotated messages scored (mean over files)`)
  const others = gitter.filter((s) => s.name !== 'docker')
  console.log(`  Gitter manual: ${others.length} rooms (${others.map((s) => s.name).join(', ')}), mean over rooms; docker apart (its room is in the training data)\n`)
  await evaluate(
    [
      { label: 'IRC #ubuntu dev (10 files)', streams: irc },
      { label: 'Gitter hand-made (6 rooms)', streams: others },
      { label: 'Gitter docker (seen room)', streams: gitter.filter((s) => s.name === 'docker') },
    ],
    model,
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
