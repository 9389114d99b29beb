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

const root = path.resolve(__dirname, '..')
const outDir = path.join(root, 'out')

async function demo() {
  const result = await main(['analyze', path.join(root, 'data', 'sample-month.json'), '--out', path.join(outDir, 'sample-analysis.json')])
  console.log(`\nWhat the sample community asked in ${result.month}:\n`)
  for (const c of result.clusters) {
    const label = c.title || c.representative
    console.log(`#${c.id + 1}  ${label}`)
    // askers, resolvedRate and bestAnswer come from a library with asks; older results lack them
    const askers = typeof c.askers === 'number' ? `asked by ${c.askers} · ` : ''
    const resolved = typeof c.resolvedRate === 'number' ? ` · ${Math.round(c.resolvedRate * 100)}% resolved` : ''
    console.log(`    ${askers}${c.size} messages · ${Math.round(c.unansweredRate * 100)}% unanswered${resolved} · keywords: ${c.keywords.join(', ')}`)
    if (c.bestAnswer) console.log(`    best answer: message ${c.bestAnswer.messageId} in channel ${c.bestAnswer.channelId}${c.bestAnswer.acknowledged ? ' (acknowledged)' : ''}`)
    for (const s of c.samples.slice(1, 4)) console.log(`      · ${s}`)
    console.log()
  }
  if (result.minorClusters?.length) console.log(`Asked by fewer members (listed apart): ${result.minorClusters.length} clusters\n`)
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
