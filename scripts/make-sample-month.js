#!/usr/bin/env node
// Writes data/sample-month.json: a month of a fictional developer-tool Discord server, written
// by this project for the demo and the tests (no real community's messages). Deterministic.
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
const answers = ['check the FAQ, it is covered there', 'you need to restart after that', 'this is fixed in 2.3.1', 'try clearing the cache first', 'known issue, we are on it', 'see the pinned message']
const chatter = ['thanks!', 'lol', 'gm everyone', 'nice 🎉', 'that worked, ty', 'brb', 'same here', '!play lofi', 'https://example.com/changelog', '🙂🙂', 'just shipped my first plugin', 'the new UI looks great', 'I love this community']

const start = Date.UTC(2026, 9, 1)
const month = 31 * 24 * 3600 * 1000
const messages = []
let n = 0
const add = (m) => messages.push({ id: `m${String(++n).padStart(5, '0')}`, ...m })
questions.forEach((q, i) => {
  // each sample question is asked once, and the common ones again by someone else later
  const times = 1 + (r() < 0.35 ? 1 : 0)
  for (let k = 0; k < times; k++) {
    const author = pick(r, users)
    const channelId = channels[topicOf(i)]
    const t = start + Math.floor(r() * (month - 3600_000))
    if (r() < 0.3) add({ channelId, authorId: author, content: pick(r, contexts), timestamp: new Date(t - 40_000).toISOString() })
    add({ channelId, authorId: author, content: k === 0 ? q.text : q.text.toLowerCase().replace(/\?$/, ''), timestamp: new Date(t).toISOString() })
    const qid = messages[messages.length - 1].id
    if (r() < 0.2) add({ channelId, authorId: author, content: pick(r, followUps), timestamp: new Date(t + 50_000).toISOString() })
    if (r() < 0.6) add({ channelId, authorId: pick(r, helpers), content: pick(r, answers), timestamp: new Date(t + 300_000).toISOString(), replyToId: qid })
  }
})
for (let i = 0; i < 250; i++) {
  add({ channelId: pick(r, Object.values(channels)), authorId: pick(r, users), content: pick(r, chatter), timestamp: new Date(start + Math.floor(r() * month)).toISOString() })
}
messages.sort((a, b) => a.timestamp.localeCompare(b.timestamp))
const out = { about: 'A month of a fictional developer-tool Discord server, written by question-insights for its demo and tests (scripts/make-sample-month.js).', tenantId: 'sample', month: '2026-10', messages }
fs.writeFileSync(path.join(root, 'data', 'sample-month.json'), JSON.stringify(out, null, 1) + '\n')
console.log(`wrote ${messages.length} messages`)
