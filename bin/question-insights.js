#!/usr/bin/env node
// question-insights CLI.
//   question-insights models     fetch and verify the model files (Node alone; see scripts/fetch-models.js)
//   question-insights analyze <file.json> [more.json …] [--out result.json|-] [--tenant ID] [--month YYYY-MM]
//                            [--threshold 0.7] [--questions-per-request N] [--questions asks|all] [--include-all]
//                            [--ask-review 0.2] [--keep-bots]
// Without --month, each month of the input is analysed on its own (one analysis, or an array of them).
// Input: an array of messages {id, channelId, authorId, content, timestamp, threadId?, replyToId?, authorName?, authorIsBot?},
// an object {messages: [...]}, or DiscordChatExporter JSON exports (one file per channel).
// Without OPENROUTER_API_KEY the extraction keeps the original questions.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const USAGE = [
  'usage: question-insights models     fetch the model files (into $QUESTION_INSIGHTS_MODELS or the package\'s models/)',
  '       question-insights analyze <file.json> [more.json …] [--out FILE|-] [--tenant ID] [--month YYYY-MM] [--threshold 0.7] [--questions-per-request N] [--questions asks|all] [--include-all] [--ask-review 0.2] [--keep-bots]',
].join('\n')

const FLAGS = new Set(['out', 'tenant', 'month', 'threshold', 'questions-per-request', 'questions', 'ask-review'])

function parseArgs(argv) {
  const args = { files: [], flags: {} }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--include-all') args.flags.includeAll = true
    else if (a === '--keep-bots') args.flags.keepBots = true
    else if (a.startsWith('--')) {
      if (!FLAGS.has(a.slice(2))) throw new Error(`unknown option ${a}\n${USAGE}`)
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`)
      args.flags[a.slice(2)] = argv[++i]
    } else args.files.push(a)
  }
  return args
}

/** Messages of one input file, in the library's shape. */
function readMessages(file) {
  let data
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    throw new Error(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `not JSON (${e.message})`}`)
  }
  if (Array.isArray(data)) return { messages: data }
  if (data && data.channel && Array.isArray(data.messages) && data.guild) return { messages: fromDiscordChatExporter(data), tenantId: data.guild.id }
  if (data && Array.isArray(data.messages)) return { messages: data.messages, tenantId: data.tenantId, month: data.month }
  throw new Error(`${file}: expected an array of messages, {messages: [...]}, or a DiscordChatExporter JSON export`)
}

/** DiscordChatExporter's JSON export: {guild, channel, messages: [{id, type, timestamp, content, author, reference}]}. */
function fromDiscordChatExporter(data) {
  const channelId = data.channel.id
  const threadId = data.channel.type && /Thread/i.test(data.channel.type) ? data.channel.id : undefined
  return data.messages
    .filter((m) => !m.type || m.type === 'Default' || m.type === 'Reply')
    .map((m) => ({
      id: m.id,
      channelId: data.channel.categoryId && threadId ? data.channel.categoryId : channelId,
      authorId: m.author && m.author.id,
      authorName: m.author ? m.author.nickname || m.author.name : undefined,
      authorIsBot: m.author && typeof m.author.isBot === 'boolean' ? m.author.isBot : undefined,
      content: m.content,
      mentions: Array.isArray(m.mentions) ? m.mentions.map((u) => u.id).filter(Boolean) : undefined,
      reactions: Array.isArray(m.reactions) ? m.reactions : undefined,
      timestamp: m.timestamp,
      threadId,
      replyToId: m.reference && m.reference.messageId ? m.reference.messageId : undefined,
    }))
}

/** `YYYY-MM` (UTC) of a message's timestamp, or null when it has none the library accepts. */
function monthOf(m) {
  const t = new Date(typeof m.timestamp === 'string' && !/Z|[+-]\d\d:?\d\d$/.test(m.timestamp) ? `${m.timestamp}Z` : m.timestamp)
  return Number.isNaN(t.getTime()) ? null : t.toISOString().slice(0, 7)
}

/** The months the messages fall in, oldest first. */
function monthsOf(messages) {
  return [...new Set(messages.map(monthOf).filter(Boolean))].sort()
}

function mostCommonMonth(messages) {
  const counts = new Map()
  for (const m of messages) {
    const key = monthOf(m)
    if (key) counts.set(key, (counts.get(key) || 0) + 1)
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] || new Date().toISOString().slice(0, 7)
}

function progressBar(stream) {
  let lastLine = ''
  return (p) => {
    const width = 30
    const filled = Math.round((p.percent / 100) * width)
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.percent.toFixed(0).padStart(3)}%  ${p.stage} ${p.done}/${p.total}`
    if (stream.isTTY) stream.write(`\r${line.padEnd(lastLine.length)}`)
    else if (p.stage !== lastLine.split(' ')[3] || p.stage === 'done') stream.write(`${line}\n`)
    lastLine = line
    if (p.stage === 'done' && stream.isTTY) stream.write('\n')
  }
}

async function analyze(args) {
  if (args.files.length === 0) throw new Error(USAGE)
  const qi = require('..')
  const inputs = args.files.map(readMessages)
  // a bridge (Matrix, IRC, Slack) relays members' messages through a webhook, which Discord
  // marks as a bot: --keep-bots reads them as members'
  const messages = inputs.flatMap((i) => i.messages).map((m) => (args.flags.keepBots && m && typeof m === 'object' ? { ...m, authorIsBot: undefined } : m))
  const tenantId = args.flags.tenant || inputs.find((i) => i.tenantId)?.tenantId || path.basename(args.files[0], '.json')
  // each month of an export is analysed on its own, as the monthly job does
  const given = args.flags.month || inputs.find((i) => i.month)?.month
  const months = given ? [given] : monthsOf(messages)
  if (months.length === 0) months.push(mostCommonMonth(messages))
  const options = { includeAllClassifications: !!args.flags.includeAll }
  if (args.flags.threshold) options.threshold = Number(args.flags.threshold)
  if (args.flags['questions-per-request']) options.questionsPerRequest = Number(args.flags['questions-per-request'])
  if (args.flags.questions) options.questions = args.flags.questions
  // with an LLM key: the candidates the ask detector is unsure of from this P(ask) up are reviewed
  if (args.flags['ask-review']) options.askReview = Number(args.flags['ask-review'])
  const results = []
  for (const month of months) {
    const input = given ? messages : messages.filter((m) => monthOf(m) === month || monthOf(m) === null)
    process.stderr.write(`analysing ${input.length} messages of ${tenantId} for ${month}\n`)
    const result = await qi.analyzeTenant({ tenantId: String(tenantId), month, messages: input, options }, progressBar(process.stderr))
    const s = result.stats
    process.stderr.write(`${month}: ${s.messages} messages${s.botMessages ? ` (${s.botMessages} by bots)` : ''} → ${s.conversations} conversations → ${s.asks} asks (${s.questions} question-like) → ${s.clusters} clusters, ${s.minorClusters} asked by one member (${s.unclustered} unclustered, ${s.rejected.length} rejected) in ${(s.timingsMs.total / 1000).toFixed(1)} s\n`)
    for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`)
    results.push(result)
  }
  const result = results.length === 1 ? results[0] : results
  const out = args.flags.out || `${args.files[0].replace(/\.json$/, '')}.analysis.json`
  const json = JSON.stringify(result, null, 1)
  if (out === '-') process.stdout.write(json + '\n')
  else {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true })
    fs.writeFileSync(out, json + '\n')
    process.stderr.write(`wrote ${out}\n`)
  }
  return result
}

async function main(argv) {
  const [command, ...rest] = argv
  if (command === 'analyze') return analyze(parseArgs(rest))
  if (command === 'models') return require('../scripts/fetch-models').main()
  if (command === '--help' || command === '-h' || !command) {
    console.log(USAGE)
    return null
  }
  throw new Error(`unknown command ${command}\n${USAGE}`)
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`question-insights: ${e.message}`)
    if (e.code === 'ERR_MODEL_MISSING') console.error('Fetch the models first: npx question-insights models')
    process.exit(1)
  })
}

module.exports = { main, readMessages, fromDiscordChatExporter, mostCommonMonth, monthsOf }
