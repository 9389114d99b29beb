#!/usr/bin/env node
// Writes data/sample-month.json: a month of a fictional developer-tool Discord server, written
// by this project for the demo and the tests (no real community's messages). Deterministic.
// Each message carries `expectedRole` (what it is, by construction: ask, clarification,
// backchannel or other) so that the demo and the tests can score what the library reports.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { rng, pick } = require('../bench/synthetic')

const root = path.resolve(__dirname, '..')
const { questions } = require(path.join(root, 'data', 'sample-questions.json'))
const r = rng(2026)
const channels = { install: 'c-help', login: 'c-account', ratelimit: 'c-api', docker: 'c-help', billing: 'c-account', bot: 'c-bots', release: 'c-general', plugins: 'c-dev', misc: 'c-general' }
const topicOf = (i) => Object.keys(channels)[Math.min(8, Math.floor(i / 6.2))]
const users = Array.from({ length: 40 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`)
const helpers = ['mod-ana', 'mod-ben', 'dev-chen']
const contexts = ['I am on the docker image from last week', 'been stuck on this for an hour', 'using the latest version btw', 'this is on my work laptop', 'followed the quickstart exactly']
const followUps = ['does it work on v2?', 'any idea?', 'is that expected?', 'what am I missing?']
const answers = ['check the FAQ, it is covered there, the section on setup explains it', 'you need to restart the service after changing that setting', 'this is fixed in 2.3.1, upgrade and it goes away', 'try clearing the cache first with the clear-cache command', 'known issue, we are on it, the workaround is in the pinned message', 'see the pinned message in this channel for the exact steps']
// what helpers ask back, what people say to keep a conversation going, and question marks that ask nothing
const clarifications = ['what OS are you on?', 'what version are you running?', 'what are you trying to do exactly?', 'can you paste the full error?', 'did you restart after that?', 'which plan are you on?']
const askerDetails = ['windows 11', 'v2.3.0', 'latest from npm', 'here: Error: EACCES: permission denied', 'yes, twice', 'the free plan']
const backchannel = ['huh?', 'oh?', 'hm?', 'really?', '?']
const acks = ['thanks, that worked!', 'ty, solved', 'works now, thank you']
const pastes = [
  '```js\nconst token = process.env.TOKEN ?? config.token\nconst client = new Client({ intents: opts.all ? ALL : DEFAULT })\nclient.login(token)\n```',
  '```\n[2026-10-03 12:00:01] WARN retrying request (attempt 3/5)?\n[2026-10-03 12:00:04] ERROR upstream timed out after 30000ms\n```',
  '```py\nx = data.get("limit") if data else None\nprint(x or "?")\n```',
]
const debate = ['you prefer tabs that much?', 'who even uses the old dashboard anymore?', 'is it really a bug if nobody hits it?', 'why would anyone self-host in 2026?']
const room = ['what are you all working on this week?', 'anyone going to the meetup?', 'how is everyone doing?']
const chatter = ['thanks!', 'lol', 'gm everyone', 'nice 🎉', 'brb', 'same here', '!play lofi', 'https://example.com/changelog', '🙂🙂', 'just shipped my first plugin', 'the new UI looks great', 'I love this community']

const start = Date.UTC(2026, 9, 1)
const month = 31 * 24 * 3600 * 1000
const messages = []
let n = 0
const add = (m) => {
  const msg = { id: `m${String(++n).padStart(5, '0')}`, ...m }
  messages.push(msg)
  return msg
}
const at = (t) => new Date(t).toISOString()
questions.forEach((q, i) => {
  // each sample question is asked once, and the common ones again by someone else later
  const times = 1 + (r() < 0.35 ? 1 : 0)
  for (let k = 0; k < times; k++) {
    const author = pick(r, users)
    const channelId = channels[topicOf(i)]
    const t = start + Math.floor(r() * (month - 3 * 3600_000))
    if (r() < 0.3) add({ channelId, authorId: author, content: pick(r, contexts), timestamp: at(t - 40_000), expectedRole: 'other' })
    const ask = add({ channelId, authorId: author, content: k === 0 ? q.text : q.text.toLowerCase().replace(/\?$/, ''), timestamp: at(t), expectedRole: 'ask' })
    if (r() < 0.2) add({ channelId, authorId: author, content: pick(r, followUps), timestamp: at(t + 50_000), expectedRole: 'other' })
    const helper = pick(r, helpers)
    const roll = r()
    if (roll < 0.35) {
      // a helper asks back, the asker answers, the helper answers, the asker may thank
      const c = Math.floor(r() * clarifications.length)
      add({ channelId, authorId: helper, content: clarifications[c], timestamp: at(t + 120_000), replyToId: ask.id, expectedRole: 'clarification' })
      if (r() < 0.3) add({ channelId, authorId: author, content: pick(r, backchannel), timestamp: at(t + 150_000), expectedRole: 'backchannel' })
      add({ channelId, authorId: author, content: askerDetails[c], timestamp: at(t + 180_000), expectedRole: 'other' })
      const answer = add({ channelId, authorId: helper, content: pick(r, answers), timestamp: at(t + 300_000), expectedRole: 'other' })
      if (r() < 0.5) add({ channelId, authorId: author, content: pick(r, acks), timestamp: at(t + 420_000), replyToId: answer.id, expectedRole: 'other' })
    } else if (roll < 0.7) {
      const answer = add({ channelId, authorId: helper, content: pick(r, answers), timestamp: at(t + 300_000), replyToId: ask.id, expectedRole: 'other' })
      if (r() < 0.4) answer.reactions = [{ emoji: { name: '✅' }, count: 1 }]
    }
  }
})
// code pastes with '?', debate, questions to the room and chatter: question marks that ask for no help
for (let i = 0; i < 25; i++) {
  const channelId = pick(r, Object.values(channels))
  const t = start + Math.floor(r() * month)
  const list = i % 3 === 0 ? pastes : i % 3 === 1 ? debate : room
  add({ channelId, authorId: pick(r, users), content: pick(r, list), timestamp: at(t), expectedRole: 'other' })
  if (r() < 0.5) add({ channelId, authorId: pick(r, users), content: pick(r, backchannel), timestamp: at(t + 30_000), expectedRole: 'backchannel' })
}
for (let i = 0; i < 250; i++) {
  add({ channelId: pick(r, Object.values(channels)), authorId: pick(r, users), content: pick(r, chatter), timestamp: at(start + Math.floor(r() * month)), expectedRole: 'other' })
}
// bots (authorIsBot, as Discord's author.bot): an auto-responder that answers every opening
// question in #help at once, a GitHub feed whose issue titles read like asks, a welcome bot that
// asks newcomers a question. Members' messages above are unchanged (their own random sequence).
const b = rng(2027)
for (const ask of messages.filter((m) => m.channelId === 'c-help' && m.expectedRole === 'ask')) {
  add({ channelId: 'c-help', authorId: 'helper-bot', authorIsBot: true, content: 'Thanks for your question! A helper will be with you soon. Meanwhile, have you checked the FAQ? https://example.com/faq', timestamp: at(Date.parse(ask.timestamp) + 4_000), replyToId: ask.id, expectedRole: 'other' })
}
const issues = questions.filter((q, i) => ['install', 'docker', 'plugins', 'ratelimit'].includes(topicOf(i)))
for (let i = 0; i < 8; i++) {
  const q = pick(b, issues)
  add({ channelId: 'c-dev', authorId: 'github', authorIsBot: true, content: `[acme/cli] Issue opened #${412 + i}: ${q.text}`, timestamp: at(start + Math.floor(b() * month)), expectedRole: 'other' })
}
for (let i = 0; i < 10; i++) {
  const member = pick(b, users)
  add({ channelId: 'c-general', authorId: 'welcome-bot', authorIsBot: true, content: `Welcome <@${member}>! Have you read #rules yet? What are you building?`, timestamp: at(start + Math.floor(b() * month)), mentions: [member], expectedRole: 'other' })
}
messages.sort((a, b) => a.timestamp.localeCompare(b.timestamp))
const out = { about: 'A month of a fictional developer-tool Discord server, written by question-insights for its demo and tests (scripts/make-sample-month.js).', tenantId: 'sample', month: '2026-10', messages }
fs.writeFileSync(path.join(root, 'data', 'sample-month.json'), JSON.stringify(out, null, 1) + '\n')
console.log(`wrote ${messages.length} messages`)
