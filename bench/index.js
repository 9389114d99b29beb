#!/usr/bin/env node
// `npm run bench`: prints tables of throughput, stage times and peak memory. Each measurement
// runs in its own process so peak RSS belongs to that measurement alone.
//   node bench/index.js [row …] [size …]     (default: every row but `prose`)
// rows: embed classify extract pipeline pipeline-real gitter cluster spam prose; sizes (25k,
// 250000, …) choose the months of the pipeline rows, e.g. `npm run bench -- pipeline-real 25k`.
// BENCH_ASK_REVIEW=1 runs the pipeline rows without the LLM's review of unsure candidates.
'use strict'
const { execFileSync } = require('node:child_process')
const os = require('node:os')
const path = require('node:path')

const mb = (b) => (b / 1024 / 1024).toFixed(0)
const child = (script, args = []) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }))
const args = process.argv.slice(2)
const sizeArg = (a) => /^\d+(\.\d+)?k?$/i.test(a)
const sizes = args.filter(sizeArg).map((a) => Math.round(a.toLowerCase().endsWith('k') ? Number(a.slice(0, -1)) * 1000 : Number(a)))
const only = args.filter((a) => !sizeArg(a))
const ROWS = ['embed', 'classify', 'extract', 'pipeline', 'pipeline-real', 'gitter', 'cluster', 'spam', 'prose']
for (const o of only) if (!ROWS.includes(o)) throw new RangeError(`unknown bench row ${JSON.stringify(o)}: one of ${ROWS.join(', ')}`)
const want = (name) => (only.length === 0 ? name !== 'prose' : only.includes(name))
const dataAvailable = require('./realistic').available()
const { cpuFlags } = require('../__test__/support/cpu-flags')

/**
 * The CPU's integer-product extensions: the int8 encoder's speed depends on them far more than on
 * the clock (README, Performance). Linux x86 only; elsewhere `'not read'`.
 */
function integerUnits() {
  const flags = cpuFlags()
  if (!flags) return 'not read'
  const units = ['amx_int8', 'avx512_vnni', 'avx_vnni', 'avx512bw', 'avx2']
  const have = units.filter((f) => flags.includes(f))
  return have.length ? have.join(' ') : `none of ${units.join(', ')}`
}

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model} (${integerUnits()}), ${mb(os.totalmem())} MB RAM, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`)

if (want('embed')) {
  const e = child('embed-throughput.js')
  console.log(`Embedding throughput (${e.source}, all-MiniLM-L6-v2; int8: the default encoder, its weights stored as ${e.int8Weights}; fp32: precision 'fp32')`)
  console.log('encoder  batch  texts   seconds   texts/s')
  for (const r of e.rows) console.log(`${r.precision.padEnd(7)}  ${String(r.batchSize).padStart(5)}  ${String(r.texts).padStart(5)}  ${r.seconds.toFixed(2).padStart(8)}  ${r.textsPerSecond.toFixed(0).padStart(8)}`)
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

const s1 = (ms) => (ms / 1000).toFixed(1)
function pipelineRow(kind, n, perRequest) {
  const r = child('pipeline.js', [kind, String(n), String(perRequest)])
  const t = r.timings
  const cells = [r.n, r.perRequest, r.asks, r.unique, r.llmRequests, s1(t.classify), s1(t.conversations), s1(t.asks), s1(t.extract), s1(t.embed), (r.asks / (t.embed / 1000)).toFixed(0), s1(t.embedWait), s1(t.dedupe), s1(t.cluster), s1(t.total), (r.n / (t.total / 1000)).toFixed(0), mb(r.peakRssBytes), r.loopDelayP99Ms.toFixed(1)]
  const widths = [8, 3, 6, 6, 5, 8, 6, 5, 7, 6, 5, 5, 6, 7, 7, 6, 8, 8]
  console.log(cells.map((c, i) => String(c).padStart(widths[i])).join('  '))
  rowDetails.push(`${kind} ${r.n}: process CPU ${r.cpuSeconds.toFixed(0)} s in ${r.wallSeconds.toFixed(0)} s wall (${(r.cpuSeconds / r.wallSeconds).toFixed(2)} cores); RSS after loading ${mb(r.rssAfterLoadBytes)} MB, highest RSS by stage ${Object.entries(r.stageRssBytes).map(([k, v]) => `${k} ${mb(v)}`).join(', ')} MB; loop max ${r.loopDelayMaxMs.toFixed(0)} ms`)
  return r
}
const PIPELINE_HEADER = `${'messages'.padStart(8)}  q/r  ${'asks'.padStart(6)}  unique  llm r  classify  conv s  asks s  extract   embed  q/s   wait  dedupe  cluster  total s  msg/s  peak RSS  loop p99`
const PIPELINE_UNITS = '(times in seconds; embed: the encoder\'s busy time over the asks, from the start of extract on, and q/s its asks a second; wait: what remained of it after extract; peak RSS in MB; loop p99: event-loop delay 99th percentile in ms)'
const rowDetails = []
const flushDetails = () => {
  for (const d of rowDetails.splice(0)) console.log(d)
}

if (want('pipeline')) {
  console.log('analyzeTenant end to end, synthetic month (LLM on the local fake server: 300 ms, concurrency 20)')
  console.log(PIPELINE_HEADER)
  const ns = sizes.length ? sizes : (process.env.BENCH_PIPELINE_SIZES || '25000').split(',').map(Number)
  for (const n of ns) for (const per of [1, 5]) pipelineRow('synthetic', n, per)
  console.log(PIPELINE_UNITS)
  flushDetails()
  console.log()
}

if (want('pipeline-real') && dataAvailable) {
  console.log('analyzeTenant end to end, real, code-heavy month (bench/realistic.js; 5 questions per LLM request on the fake server)')
  console.log(PIPELINE_HEADER)
  const described = []
  for (const n of sizes.length ? sizes : [25000, 250000]) described.push(pipelineRow('code', n, 5).corpus)
  console.log(PIPELINE_UNITS)
  flushDetails()
  const { describe } = require('./realistic')
  for (const c of described) console.log(`corpus: ${describe(c)}`)
  console.log()
}

if (want('gitter') && dataAvailable) {
  console.log('analyzeTenant end to end, the real chat logs without added pastes (Gitter docker + IRC #ubuntu fitted into one month, 5 questions per request)')
  console.log(PIPELINE_HEADER)
  pipelineRow('gitter', 40201, 5)
  console.log(PIPELINE_UNITS)
  flushDetails()
  console.log()
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

if (want('spam')) {
  console.log('Spam wave: 10 000 identical + 10 000 distinct questions (default options)')
  console.log('call       questions  unique  clusters  total ms  dedupe ms  cluster ms  RSS after load MB  before call MB  peak RSS MB  extra MB')
  const n = (x, w) => (x === undefined ? '-' : typeof x === 'number' && !Number.isInteger(x) ? x.toFixed(0) : String(x)).padStart(w)
  for (const call of ['cluster', 'dedupe']) {
    const r = child('spam.js', ['10000', '10000', call])
    console.log(`${`${call}()`.padEnd(9)}  ${n(r.identical + r.distinct, 9)}  ${n(r.unique, 6)}  ${n(r.clusters, 8)}  ${n(r.totalMs, 8)}  ${n(r.dedupeMs, 9)}  ${n(r.clusterMs, 10)}  ${mb(r.rssAfterLoadBytes).padStart(17)}  ${mb(r.rssBeforeCallBytes).padStart(14)}  ${mb(r.peakRssBytes).padStart(11)}  ${mb(r.peakRssBytes - r.rssBeforeCallBytes).padStart(8)}`)
  }
  console.log("(extra: peak RSS minus the RSS just before the call, with the models loaded and the 20 000 input texts built: the encoder's buffers and the vectors, and for cluster() the distance matrix of the unique questions; until 2026-12-01 it was counted from the RSS after loading, which also counted the JS heap the bench grew building its inputs, about 28 MB)\n")
}

if (want('prose') && dataAvailable) {
  // the classifier's encoder on the code-heavy corpus, with and without pastes reduced to placeholders
  const n = sizes[0] || 25000
  const { corpusFile } = require('./realistic')
  const { file } = corpusFile(n)
  const out = execFileSync('cargo', ['bench', '--quiet', '--no-default-features', '--bench', 'prose_tokens', '--', file], { cwd: path.join(__dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 })
  const r = JSON.parse(out.trim().split('\n').pop())
  const pct = (a, b) => `${((100 * (b - a)) / a).toFixed(0)} %`
  console.log(`Pastes reduced to placeholders (prose::reduce) before the classifier, ${r.messages} code-heavy messages (${n} asked)`)
  console.log(`all messages: ${r.allRaw} encoder tokens raw → ${r.allReduced} reduced (${pct(r.allRaw, r.allReduced)}); at the ${r.cap}-token cap ${r.allRawCapped} → ${r.allReducedCapped} (${pct(r.allRawCapped, r.allReducedCapped)}); reducing took ${r.reduceSeconds.toFixed(1)} s`)
  console.log(`encoder stage (the ${r.encoderMessages} messages the cascade sends to it): tokens ${r.raw.tokens} → ${r.reduced.tokens}, at the cap ${r.raw.cappedTokens} → ${r.reduced.cappedTokens} (${pct(r.raw.cappedTokens, r.reduced.cappedTokens)}); encoder ${r.raw.seconds.toFixed(1)} s → ${r.reduced.seconds.toFixed(1)} s (${(r.raw.seconds / r.reduced.seconds).toFixed(2)}×)`)
  console.log(`whole classifier on raw vs reduced text: ${r.classifyRawSeconds.toFixed(1)} s → ${r.classifyReducedSeconds.toFixed(1)} s; encoder-stage messages ${r.encoderMessages} → ${r.encoderMessagesWhenReduced}; ${r.flips} of ${r.messages} question decisions change (${r.questions} questions raw)\n`)
}
