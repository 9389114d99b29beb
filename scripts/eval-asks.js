#!/usr/bin/env node
// Scores the ask detector (`asks()`) on hand-labelled real chat, beside two baselines: the
// "contains '?'" rule and today's classifier (isQuestion at 0.7).
//   npm run eval:asks                      # all sources
//   npm run eval:asks -- --threshold 0.6   # another P(ask) threshold
//   npm run eval:asks -- --model out/m.json # a model file instead of the compiled-in one
//   npm run eval:asks -- --errors           # list the messages the ask role gets wrong
//   npm run eval:asks -- --no-months        # without the per-month analyzeTenant figures
//   npm run eval:asks -- --save-roles a.json # keep this run's roles, to compare another run with
//   npm run eval:asks -- --model b.json --compare a.json
//                                           # paired 95 % interval of F1(this run) − F1(a.json)
//   npm run eval:asks -- --llm              # the months with the LLM of the environment
//                                           # (OPENROUTER_API_KEY, LLM_BASE_URL, LLM_MODEL): its
//                                           # verdicts and its review of unsure candidates
//   npm run eval:asks -- --llm-answers F    # the same, the LLM's answers replayed from F (JSONL
//                                           # {"key", "answer"}) by a loopback server; prompts F has
//                                           # no answer for are written to F.todo.jsonl
//   npm run eval:asks -- --ask-review 0.3   # analyzeTenant's askReview (default: the library's)
//   npm run eval:asks -- --docker-months    # the months of the docker labels too (trained on)
//   npm run eval:asks -- --skip-self-contained false # analyzeTenant's skipSelfContained
// Sources (labels are file + line + role, text read from ../shared/data):
// - IRC #ubuntu dev files (data/labels/asks-irc.jsonl): each dev file's whole stream in line order;
// - 6 non-docker Gitter rooms of the hand-made dialogs (data/labels/asks-gitter.jsonl): each room's
//   dialogs as one stream by time, deduplicated on (project, timestamp, author, text);
// - docker (data/labels/asks-docker.jsonl): the labels the model was trained on, for reference only.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const args = process.argv.slice(2)
const value = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
// a freshly trained model, without rebuilding (read when the addon first labels roles)
if (value('model')) process.env.QUESTION_INSIGHTS_ASK_MODEL = path.resolve(value('model'))
const qi = require('..')
const { ROLES, handStreams, handLabelsFile, readJsonl, dataDir } = require('./train-asks.js')
const { askFigures } = require('./ask-figures')
const { prf, bootstrap } = require('./metrics')

const fmt = (x) => x.toFixed(3)

/** Items grouped by a key, in first-seen order: key → items. */
function byKey(items, key) {
  const out = new Map()
  for (const x of items) {
    if (!out.has(key(x))) out.set(key(x), [])
    out.get(key(x)).push(x)
  }
  return out
}

async function score(name, streams, options) {
  const rows = []
  for (const stream of streams) {
    const input = stream.map(({ id, channelId, authorId, content, timestamp }) => ({ id, channelId, authorId, content, timestamp }))
    const out = await qi.asks(input, options)
    out.forEach((r, i) => {
      const m = stream[i]
      if (m.gold) rows.push({ id: `${m.channelId}\u0000${m.id}`, gold: m.gold, role: r.role ?? 'none', isQuestion: r.isQuestion, mark: m.content.includes('?'), text: m.content, conversation: `${m.channelId}\u0000${r.conversationId}` })
    })
  }
  const gold = (r) => r.gold === 'ask'
  const model = prf(rows.map((r) => [r.role === 'ask', gold(r)]))
  const mark = prf(rows.map((r) => [r.mark, gold(r)]))
  const clf = prf(rows.map((r) => [r.isQuestion, gold(r)]))
  const noMark = rows.filter((r) => gold(r) && !r.mark)
  const asks = rows.filter(gold).length
  console.log(`\n${name}: ${rows.length} labelled messages, ${asks} asks (${noMark.length} without '?')`)
  console.log('  method                     precision  recall     F1')
  for (const [label, s] of [['asks() role = ask', model], ["contains '?'", mark], ['classifier isQuestion@0.7', clf]]) {
    console.log(`  ${label.padEnd(26)} ${fmt(s.precision).padStart(9)} ${fmt(s.recall).padStart(7)} ${fmt(s.f1).padStart(6)}`)
  }
  // 95 % intervals: conversations drawn with replacement (a conversation's errors go together)
  const byConversation = byKey(rows, (r) => r.conversation)
  const conversations = [...byConversation.values()]
  const ci = bootstrap(conversations, (items) => {
    const a = prf(items.map((r) => [r.role === 'ask', gold(r)]))
    const q = prf(items.map((r) => [r.mark, gold(r)]))
    return { precision: a.precision, recall: a.recall, f1: a.f1, gain: a.f1 - q.f1 }
  })
  const range = ([lo, hi]) => `${fmt(lo)}–${fmt(hi)}`
  console.log(`  95 % intervals of asks() (${byConversation.size} conversations resampled): precision ${range(ci.precision)}, recall ${range(ci.recall)}, F1 ${range(ci.f1)}; F1 over the '?' rule +${range(ci.gain)}`)
  const recallNoMark = noMark.length ? noMark.filter((r) => r.role === 'ask').length / noMark.length : 0
  console.log(`  recall of asks without '?': asks() ${fmt(recallNoMark)} (${noMark.filter((r) => r.role === 'ask').length}/${noMark.length}), '?' rule 0.000, classifier ${fmt(noMark.length ? noMark.filter((r) => r.isQuestion).length / noMark.length : 0)}`)
  const cols = [...ROLES, 'none']
  console.log(`  confusion (rows: label, columns: asks() role)\n  ${''.padEnd(14)}${cols.map((c) => c.slice(0, 13).padStart(14)).join('')}`)
  for (const g of ROLES) {
    const counts = cols.map((c) => rows.filter((r) => r.gold === g && r.role === c).length)
    console.log(`  ${g.padEnd(14)}${counts.map((n) => String(n).padStart(14)).join('')}`)
  }
  if (args.includes('--errors')) {
    for (const r of rows.filter((x) => (x.role === 'ask') !== gold(x))) console.log(`    ${r.gold.padEnd(13)} → ${r.role.padEnd(13)} ${r.text.slice(0, 110).replace(/\s+/g, ' ')}`)
  }
  return { name, rows, conversations, asks, model, mark, clf, recallNoMark, ci }
}

/**
 * Whether a reply is an answer to an ask, by the source's own structure: on IRC, the corpus's
 * hand-annotated reply links (a reply to one of the asker's messages, in the ask's conversation);
 * on Gitter, the hand-made dialogs (someone else's message in the ask's dialog). Null for a source
 * without such structure. Messages are a stream's (ids are lines of the source file).
 */
function replyJudge(set) {
  if (set === 'irc') {
    const rows = readJsonl(path.join(dataDir, 'chatlogs', 'irc_ubuntu.jsonl'))
    const raw = new Map(rows.map((r) => [String(r._line), `${r.file}#${r.line}`]))
    const links = new Map(readJsonl(path.join(dataDir, 'dialogs', 'irc_ubuntu_links.jsonl')).map((g) => [`${g.file}#${g.line}`, g]))
    const gold = (m) => links.get(raw.get(String(m.id)))
    // per stream, each author's lines (the asker's messages a reply may answer)
    const lines = new WeakMap()
    const linesOf = (stream, author) => {
      if (!lines.has(stream)) {
        const byAuthor = new Map()
        for (const m of stream) {
          if (!byAuthor.has(m.authorId)) byAuthor.set(m.authorId, new Set())
          byAuthor.get(m.authorId).add(raw.get(String(m.id)))
        }
        lines.set(stream, byAuthor)
      }
      return lines.get(stream).get(author)
    }
    return (ask, reply, stream) => {
      const a = gold(ask)
      const r = gold(reply)
      if (!a || !r || reply.authorId === ask.authorId || r.conversation !== a.conversation) return false
      const askers = linesOf(stream, ask.authorId)
      return r.replyTo.some((line) => askers.has(`${r.file}#${line}`))
    }
  }
  if (set === 'gitter') {
    const rows = readJsonl(path.join(dataDir, 'dialogs', 'gitter_manual_dialogs.jsonl'))
    const dialog = new Map(rows.map((r) => [String(r._line), `${r.project}#${r.dialog}`]))
    return (ask, reply) => reply.authorId !== ask.authorId && dialog.get(String(ask.id)) === dialog.get(String(reply.id))
  }
  return null
}

/**
 * The answer links of a month's reported asks (labelled ones), against `judge`: how many asks got
 * a link, how many had an answer to link (a reply after them, as the source's structure says), and
 * how many of the links are such a reply.
 */
const noAnswerLinks = () => ({ asks: 0, replied: 0, unanswered: 0, unansweredRight: 0, linked: 0, right: 0, acknowledged: 0, acknowledgedRight: 0 })

function answerLinks(result, list, judge) {
  const byId = new Map(list.map((m) => [String(m.id), m]))
  const out = noAnswerLinks()
  for (const q of result.questions) {
    const ask = byId.get(q.id)
    if (q.notRequest || ask?.gold !== 'ask') continue
    out.asks++
    const replied = list.some((m) => m.timestamp >= ask.timestamp && m !== ask && judge(ask, m, list))
    out.replied += replied
    if (!q.answered) {
      out.unanswered++
      out.unansweredRight += !replied
    }
    if (!q.answer) continue
    const right = judge(ask, byId.get(q.answer.messageId), list)
    out.linked++
    out.right += right
    if (q.answer.acknowledged) {
      out.acknowledged++
      out.acknowledgedRight += right
    }
  }
  return out
}

/**
 * The three figures a month is judged by (scripts/ask-figures.js), from analyzeTenant on each
 * calendar month of a source's labelled streams, as a tenant would run it: the share of reported
 * questions that are asks, the share of asks found, the share of the top 5 clusters' members that
 * are asks. Only labelled messages count.
 */
async function monthFigures(name, set, streams, conversationOf, llm) {
  const judge = replyJudge(set)
  const links = noAnswerLinks()
  const months = new Map()
  for (const stream of streams) {
    for (const m of stream) {
      const month = new Date(m.timestamp).toISOString().slice(0, 7)
      if (!months.has(month)) months.set(month, [])
      months.get(month).push(m)
    }
  }
  const rows = []
  // every labelled message: reported or not, an ask or not, and its conversation (as asks() put it)
  const labelled = []
  for (const [month, list] of [...months].sort()) {
    if (!list.some((m) => m.gold === 'ask')) continue
    const messages = list.map(({ id, channelId, authorId, content, timestamp }) => ({ id, channelId, authorId, content, timestamp: new Date(timestamp).toISOString() }))
    const result = await qi.analyzeTenant({ tenantId: 'eval', month, messages, options: tenantOptions() })
    const f = askFigures(result, list.map((m) => ({ id: m.id, expectedRole: m.gold })))
    rows.push({ month, messages: list.length, ...f })
    if (judge) for (const [k, v] of Object.entries(answerLinks(result, list, judge))) links[k] += v
    const reported = new Set(result.questions.filter((q) => !q.notRequest).flatMap((q) => q.messageIds))
    for (const m of list.filter((x) => x.gold)) {
      const key = `${m.channelId}\u0000${m.id}`
      labelled.push({ reported: reported.has(String(m.id)), ask: m.gold === 'ask', conversation: conversationOf.get(key) ?? key })
    }
  }
  const pct = (x) => `${(x * 100).toFixed(1)}%`.padStart(7)
  console.log(`\n${name}: analyzeTenant per calendar month (every message analysed; the shares count labelled ones)`)
  console.log('  month    messages  asks  reported  are asks  asks found  top clusters  members are asks (of labelled)')
  const sum = { messages: 0, asks: 0, reported: 0, reportedAsks: 0, found: 0, top: 0, topAsks: 0 }
  for (const r of rows) {
    console.log(`  ${r.month}  ${String(r.messages).padStart(8)}  ${String(r.asks).padStart(4)}  ${String(r.reported).padStart(8)}  ${pct(r.reportedAreAsks)}  ${pct(r.asksFound).padStart(10)}  ${String(r.topClusters).padStart(12)}  ${r.topMembers ? `${pct(r.topMembersAreAsks).padStart(16)} (${r.topMemberAsks}/${r.topMembers})` : '               —'}`)
    sum.messages += r.messages
    sum.asks += r.asks
    sum.reported += r.reported
    sum.reportedAsks += r.reportedAsks
    sum.found += r.asksFoundCount
    sum.top += r.topMembers
    sum.topAsks += r.topMemberAsks
  }
  const share = (a, b) => (b ? a / b : 0)
  console.log(`  all      ${String(sum.messages).padStart(8)}  ${String(sum.asks).padStart(4)}  ${String(sum.reported).padStart(8)}  ${pct(share(sum.reportedAsks, sum.reported))}  ${pct(share(sum.found, sum.asks)).padStart(10)}  ${''.padStart(12)}  ${pct(share(sum.topAsks, sum.top)).padStart(16)} (${sum.topAsks}/${sum.top})`)
  const judged = (items) => prf(items.map((r) => [r.reported, r.ask]))
  const s = judged(labelled)
  const groups = byKey(labelled, (r) => r.conversation)
  const ci = bootstrap([...groups.values()], (items) => {
    const x = judged(items)
    return { precision: x.precision, recall: x.recall, f1: x.f1 }
  })
  const range = ([lo, hi]) => `${fmt(lo)}–${fmt(hi)}`
  console.log(`  as the ask role: P / R / F1 ${fmt(s.precision)} / ${fmt(s.recall)} / ${fmt(s.f1)}; 95 % (${groups.size} conversations resampled): P ${range(ci.precision)}, R ${range(ci.recall)}, F1 ${range(ci.f1)}${llm ? ` (with the LLM: ${llm.label})` : ''}`)
  if (judge) {
    const by = set === 'irc' ? "the corpus's reply links: a reply to the asker" : "the hand-made dialogs: a reply in the ask's dialog"
    const pct = (n, of) => `${of ? ((n / of) * 100).toFixed(1) : '0.0'} % (${n}/${of})`
    console.log(`  answers of the reported asks (${links.asks}), against ${by}:`)
    console.log(`    unanswered: ${links.unanswered} reported, ${links.asks - links.replied} by the source; of those reported, truly unanswered ${pct(links.unansweredRight, links.unanswered)}`)
    console.log(`    answer links: ${links.linked} (${links.replied} asks had a reply to link); the link is such a reply ${pct(links.right, links.linked)}, of those the asker thanked for ${pct(links.acknowledgedRight, links.acknowledged)}`)
  }
}

/** analyzeTenant's options of this run. */
const tenantOptions = () => ({
  ...(value('ask-review') ? { askReview: Number(value('ask-review')) } : {}),
  ...(value('skip-self-contained') ? { skipSelfContained: value('skip-self-contained') === 'true' } : {}),
})

/**
 * The LLM the months run with (`--llm`, `--llm-answers F`), or null. With answers from a file, a
 * loopback chat-completions server replays them: the extraction prompts are keyed by the hash of
 * their user message, other prompts (cluster titles) get a fixed title.
 */
async function startLlm() {
  const file = value('llm-answers')
  if (!file && !args.includes('--llm')) return null
  if (!file) {
    if (!process.env.OPENROUTER_API_KEY) throw new Error('--llm: OPENROUTER_API_KEY is not set')
    return { label: process.env.LLM_MODEL || 'the default model', close: async () => {} }
  }
  const crypto = require('node:crypto')
  const { startFakeOpenAI } = require('../__test__/support/fake-openai')
  const key = (user) => crypto.createHash('sha256').update(user).digest('hex').slice(0, 16)
  const answers = new Map()
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())) {
      const a = JSON.parse(line)
      if (typeof a.key !== 'string' || typeof a.answer !== 'string') throw new Error(`--llm-answers: ${file}: each line needs "key" and "answer" strings`)
      answers.set(a.key, a.answer)
    }
  }
  const todo = new Map()
  const fake = await startFakeOpenAI({
    answer: (user) => {
      if (!user.includes('<question>')) return 'Questions of the community'
      const k = key(user)
      if (answers.has(k)) return answers.get(k)
      todo.set(k, user)
      return 'NOT_A_QUESTION'
    },
  })
  Object.assign(process.env, { OPENROUTER_API_KEY: 'replay', LLM_BASE_URL: fake.url, LLM_MODEL: 'replay' })
  return {
    label: `answers replayed from ${file}`,
    close: async () => {
      await fake.close()
      if (todo.size) {
        fs.writeFileSync(`${file}.todo.jsonl`, [...todo].map(([k, user]) => JSON.stringify({ key: k, user })).join('\n') + '\n')
        throw new Error(`--llm-answers: ${todo.size} prompts have no answer in ${file} (written to ${file}.todo.jsonl); the month figures above counted them as NOT_A_QUESTION`)
      }
    },
  }
}

/**
 * This run against the roles of an earlier one (`--save-roles`), on the same labelled messages:
 * the F1 of each and a paired 95 % interval of the difference, conversations resampled.
 */
function compare(results, saved) {
  console.log(`\nthis run against ${value('compare')} (paired, conversations resampled)`)
  for (const r of results) {
    const before = saved[r.name]
    if (!before) {
      console.log(`  ${r.name.slice(0, 36).padEnd(36)} not in the saved run`)
      continue
    }
    const missing = r.rows.filter((x) => !(x.id in before)).length
    if (missing) throw new Error(`--compare: ${missing} labelled messages of ${r.name} are not in ${value('compare')}: the labels changed`)
    const f1 = (items, role) => prf(items.map((x) => [role(x) === 'ask', x.gold === 'ask'])).f1
    const now = (x) => x.role
    const then = (x) => before[x.id]
    const ci = bootstrap(r.conversations, (items) => ({ gain: f1(items, now) - f1(items, then) }))
    const gain = f1(r.rows, now) - f1(r.rows, then)
    const sign = (x) => (x >= 0 ? '+' : '') + fmt(x)
    console.log(`  ${r.name.slice(0, 36).padEnd(36)} F1 ${fmt(f1(r.rows, then))} → ${fmt(f1(r.rows, now))}: ${sign(gain)} (95 % ${sign(ci.gain[0])} to ${sign(ci.gain[1])})`)
  }
}

async function main() {
  const options = {}
  if (value('threshold')) options.threshold = Number(value('threshold'))
  const sources = []
  for (const [set, name] of [
    ['irc', 'IRC #ubuntu dev files'],
    ['gitter', null],
    ['docker', 'docker (train labels, for reference)'],
  ]) {
    if (!fs.existsSync(handLabelsFile(set))) continue
    const streams = handStreams(set)
    sources.push([name ?? `Gitter rooms (${streams.map((s) => s[0].channelId).join(', ')})`, streams, set])
  }
  const results = []
  for (const [name, streams] of sources) results.push(await score(name, streams, options))
  if (value('save-roles')) {
    const saved = Object.fromEntries(results.map((r) => [r.name, Object.fromEntries(r.rows.map((x) => [x.id, x.role]))]))
    fs.writeFileSync(value('save-roles'), JSON.stringify(saved))
  }
  console.log('\nsummary (ask role)                       asks()            contains ?        classifier@0.7')
  for (const r of results) {
    const cell = (s) => `${fmt(s.precision)}/${fmt(s.recall)}/${fmt(s.f1)}`
    console.log(`  ${r.name.slice(0, 36).padEnd(36)} ${cell(r.model)}  ${cell(r.mark)}  ${cell(r.clf)}   (P/R/F1, ${r.asks} asks; asks() F1 ${fmt(r.ci.f1[0])}–${fmt(r.ci.f1[1])})`)
  }
  if (value('compare')) compare(results, JSON.parse(fs.readFileSync(value('compare'), 'utf8')))
  // the held-out sources, as months of a tenant
  if (!args.includes('--no-months')) {
    const llm = await startLlm()
    for (const [name, streams, set] of sources.filter(([n]) => args.includes('--docker-months') || !n.startsWith('docker'))) {
      const scored = results.find((r) => r.name === name)
      await monthFigures(name, set, streams, new Map(scored.rows.map((r) => [r.id, r.conversation])), llm)
    }
    await llm?.close()
  }
}

main().catch((e) => {
  console.error(`eval: ${e.stack || e.message}`)
  process.exit(1)
})
