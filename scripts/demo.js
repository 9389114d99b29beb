#!/usr/bin/env node
// `npm run demo`: the whole pipeline on the project's own sample month (data/sample-month.json,
// written by scripts/make-sample-month.js), offline unless OPENROUTER_API_KEY is set. Prints the
// clusters and writes the analysis plus a questions.json/metadata.json pair that the Insights page
// (examples/insights) can open.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { main } = require('../bin/question-insights')
const { toQuestionsJson } = require('./questions-json')
const { askFigures } = require('./ask-figures')

const root = path.resolve(__dirname, '..')
const outDir = path.join(root, 'out')

async function demo() {
  const result = await main(['analyze', path.join(root, 'data', 'sample-month.json'), '--out', path.join(outDir, 'sample-analysis.json')])
  const s = result.stats
  console.log(`\n${s.messages} messages${s.botMessages ? ` (${s.botMessages} by bots, never asks or answers)` : ''} → ${s.conversations} conversations → ${s.questions} question-like messages → ${s.asks} asks`)
  console.log(`roles: ${Object.entries(s.roles).map(([k, v]) => `${v} ${k}`).join(', ')}; ${s.answered} answered, ${s.resolved} resolved`)
  // the sample month knows what each message is (expectedRole): score what was reported
  const sample = JSON.parse(fs.readFileSync(path.join(root, 'data', 'sample-month.json'), 'utf8'))
  const f = askFigures(result, sample.messages)
  const p1 = (x) => `${(x * 100).toFixed(1)}%`
  console.log(`of the ${f.reported} questions reported, ${p1(f.reportedAreAsks)} are asks; ${p1(f.asksFound)} of the ${f.asks} asks were found; ${p1(f.topMembersAreAsks)} of the members of the top ${f.topClusters} clusters are asks`)
  console.log(`\nWhat the sample community asked in ${result.month}:\n`)
  const pct = (x) => `${Math.round(x * 100)}%`
  for (const c of result.clusters) {
    const label = c.title || c.representative
    console.log(`#${c.id + 1}  ${label}`)
    console.log(`    asked by ${c.askers} members (${c.size} messages) · ${pct(c.unansweredRate)} unanswered · ${pct(c.resolvedRate)} resolved · keywords: ${c.keywords.join(', ')}`)
    if (c.bestAnswer) console.log(`    best answer: message ${c.bestAnswer.messageId}${c.bestAnswer.acknowledged ? ' (the asker said it worked)' : ''}`)
    for (const sample of c.samples.slice(1, 4)) console.log(`      · ${sample}`)
    console.log()
  }
  if (result.minorClusters.length) {
    console.log('Asked by one member (listed apart):')
    for (const c of result.minorClusters) console.log(`      · ${c.representative} (${c.size}×)`)
  }
  const unclustered = result.questions.filter((q) => q.clusterId === null && !q.notRequest)
  if (unclustered.length) {
    console.log('Asked once:')
    for (const q of unclustered) console.log(`      · ${q.extracted}`)
  }
  const tenantDir = path.join(outDir, 'insights-data', result.tenantId)
  fs.mkdirSync(tenantDir, { recursive: true })
  fs.writeFileSync(path.join(tenantDir, 'questions.json'), JSON.stringify(toQuestionsJson(result.tenantId, [result]), null, 1))
  fs.writeFileSync(path.join(tenantDir, 'metadata.json'), JSON.stringify({ tenantId: result.tenantId, hasQuestionAnalysis: true }, null, 1))
  console.log(`\nInsights page data: ${path.relative(root, tenantDir)}/questions.json (see examples/insights/README.md to open it)`)
}

demo().catch((e) => {
  console.error(e)
  process.exit(1)
})
