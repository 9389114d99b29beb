#!/usr/bin/env node
// `npm run bench`: prints tables of throughput, stage times and peak memory. Each measurement
// runs in its own process so peak RSS belongs to that measurement alone.
//   node bench/index.js [embed] [cluster] ...   (default: all)
'use strict'
const { execFileSync } = require('node:child_process')
const os = require('node:os')
const path = require('node:path')

const mb = (b) => (b / 1024 / 1024).toFixed(0)
const child = (script, args = []) => JSON.parse(execFileSync(process.execPath, [path.join(__dirname, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }))
const only = process.argv.slice(2)
const want = (name) => only.length === 0 || only.includes(name)

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${mb(os.totalmem())} MB RAM, node ${process.version}\n`)

if (want('embed')) {
  const e = child('embed-throughput.js')
  console.log(`Embedding throughput (${e.source}, all-MiniLM-L6-v2 int8 ONNX)`)
  console.log('batch  texts   seconds   texts/s')
  for (const r of e.rows) console.log(`${String(r.batchSize).padStart(5)}  ${String(r.texts).padStart(5)}  ${r.seconds.toFixed(2).padStart(8)}  ${r.textsPerSecond.toFixed(0).padStart(8)}`)
  console.log(`peak RSS ${mb(e.peakRssBytes)} MB\n`)
}

if (want('classify')) {
  const c = child('classify-throughput.js', ['5000'])
  console.log(`classify() throughput (${c.source}, batch 32, threshold 0.7)`)
  console.log('cascade  messages  seconds  messages/s  projected 250k  encoder share  questions')
  for (const r of c.rows) {
    const enc = (r.stages.encoder || 0) / r.messages
    console.log(`${String(r.cascade).padStart(7)}  ${String(r.messages).padStart(8)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.perSecond.toFixed(0).padStart(10)}  ${(r.projected250kSeconds / 60).toFixed(1).padStart(10)} min  ${(100 * enc).toFixed(0).padStart(12)}%  ${String(r.questions).padStart(9)}`)
  }
  console.log(`peak RSS ${mb(c.peakRssBytes)} MB\n`)
}

if (want('extract')) {
  const { rows, faults } = child('extract-throughput.js')
  console.log('extract() of 2 000 items, fake OpenAI server (300 ms per answer), concurrency 20')
  console.log('questions/request  requests  wall s  prompt tokens  completion tokens  rewritten')
  for (const r of rows) console.log(`${String(r.perRequest).padStart(17)}  ${String(r.requests).padStart(8)}  ${r.seconds.toFixed(1).padStart(6)}  ${String(r.promptTokens).padStart(13)}  ${String(r.completionTokens).padStart(17)}  ${String(r.llm).padStart(9)}`)
  console.log('(tokens are the fake server\'s estimate: characters / 4)\n')
  console.log('extract() of 1 000 items under faults (500, 429 + Retry-After: 0, truncated JSON, hangs): 100 ms answers, concurrency 20, timeout 1 s, 2 retries, 1 fallback model')
  console.log('faults  requests  faulty  wall s  items/s  rewritten')
  for (const r of faults) console.log(`${(100 * r.rate).toFixed(0).padStart(5)}%  ${String(r.requests).padStart(8)}  ${String(r.faulty).padStart(6)}  ${r.seconds.toFixed(1).padStart(6)}  ${r.itemsPerSecond.toFixed(0).padStart(7)}  ${(100 * r.share).toFixed(1).padStart(8)}%`)
  console.log()
}

if (want('pipeline')) {
  console.log('analyzeTenant end to end (synthetic month, LLM on the local fake server: 300 ms, concurrency 20)')
  console.log('messages  q/request  questions  requests  classify s  extract s  embed s  cluster s  total s  peak RSS MB  loop p99 ms')
  const s = (ms) => (ms / 1000).toFixed(1).padStart(9)
  const row = (args, note = '') => {
    const r = child('pipeline.js', args)
    console.log(`${String(r.n).padStart(8)}  ${String(r.perRequest).padStart(9)}  ${String(r.questions).padStart(9)}  ${String(r.llmRequests).padStart(8)}  ${s(r.timings.classify)}  ${s(r.timings.extract)}  ${s(r.timings.embed)}  ${s(r.timings.cluster)}  ${s(r.timings.total)}  ${mb(r.peakRssBytes).padStart(11)}  ${r.loopDelayP99Ms.toFixed(1).padStart(11)}${note}`)
  }
  const sizes = (process.env.BENCH_PIPELINE_SIZES || '25000').split(',').map(Number)
  for (const n of sizes) for (const per of [1, 5]) row([String(n), String(per)])
  const fs = require('node:fs')
  if (fs.existsSync(path.resolve(__dirname, '..', '..', 'shared', 'data', 'chatlogs')) || process.env.QUESTION_INSIGHTS_DATA) {
    row(['real', '5'], '  (real chat logs)')
  }
  console.log('(BENCH_PIPELINE_SIZES=25000,250000 npm run bench -- pipeline for the big month)\n')
}

if (want('cluster')) {
  console.log('Questions → embed → dedupe → cluster (synthetic questions, default options)')
  console.log('     n   unique  clusters  two-stage  embed ms  dedupe ms  cluster ms  peak RSS MB')
  for (const n of [1000, 5000, 25000]) {
    const r = child('cluster-scale.js', [String(n)])
    console.log(`${String(n).padStart(6)}  ${String(r.unique).padStart(7)}  ${String(r.clusters).padStart(8)}  ${String(r.twoStage).padStart(9)}  ${r.embedMs.toFixed(0).padStart(8)}  ${r.dedupeMs.toFixed(0).padStart(9)}  ${r.clusterMs.toFixed(0).padStart(10)}  ${mb(r.peakRssBytes).padStart(11)}`)
  }
  console.log()
}
