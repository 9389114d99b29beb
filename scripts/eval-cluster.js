#!/usr/bin/env node
// 1. Clusters CLINC150 (../shared/data/clinc150) with the default options — not told the number
//    of intents — and scores the clusters against the intents (NMI, ARI). Then the same on
//    month-sized samples, which is what a tenant's month is: 20 draws of a small month (20 intents
//    with 15, 12, 9, … 1 queries: 91) and 20 of a busier one (50 intents, 260 queries), sizes
//    skewed as topics are. Besides NMI and ARI it gives the top 5 clusters' purity: the share of
//    their members that belong to the cluster's main intent, what the reader of the page sees.
//    Then the busier months posted as chat through analyzeTenant, most queries opened by a
//    greeting, a helper's name or a plea: the clusters should follow the queries, not those.
// 2. The token cap of the texts the cluster stage embeds (`maxTokens`): CLINC150's queries are
//    short, an ask's opening turn is not (median 40 tokens on the code-heavy bench month, p90 119).
//    On real dialogs cut by hand (the Gitter rooms' dialogs; IRC #ubuntu's annotated training
//    conversations, the first 6,000), the opening turn of each dialog's starter (all their
//    messages before someone else speaks) is embedded with each cap, the other people's messages
//    of the dialog with 256 tokens, and each turn should find its own dialog's replies among all
//    the dialogs of its source: recall@1, recall@5 and mean reciprocal rank, plus the turns'
//    cosine to their vector at 256 tokens. The encoder was trained on 128-token sequences.
//   node scripts/eval-cluster.js [--split test|val] [--linkage ward] [--thresholds 0.8,1,1.2]
//                                [--cap 1.1] [--min-cohesion 0.6] [--precision int8,fp32] [--no-months]
//                                [--no-salutations]
//                                [--token-caps 64,80,96,128,256 | --no-token-caps]
// Tune on val only; report on test.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const qi = require('..')
const { nmi, ari, random: seeded } = require('./metrics')
const { readJsonl } = require('./train-linker')

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

async function main() {
  const split = arg('split', 'test')
  const dataDir = process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
  const file = path.join(dataDir, 'clinc150', `${split}.jsonl`)
  if (!fs.existsSync(file)) {
    console.error(`eval:cluster: ${file} not found (set QUESTION_INSIGHTS_DATA to the folder holding clinc150/)`)
    process.exit(1)
  }
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const questions = rows.map((r, i) => ({ id: String(i), text: r.text }))
  const truth = rows.map((r) => r.intent)
  const linkage = arg('linkage', undefined)
  const thresholds = arg('thresholds', undefined)
  const thresholdRuns = thresholds ? thresholds.split(',').map(Number) : [undefined]
  // the encoder: int8 (the default) and/or fp32, to compare them in one run
  const precisions = arg('precision', 'int8').split(',')
  const runs = precisions.flatMap((precision) => thresholdRuns.map((t) => ({ precision, t })))
  console.log(`CLINC150 ${split}: ${rows.length} texts, ${new Set(truth).size} intents (not given to the clustering)`)
  console.log('encoder  linkage   threshold  clusters  unclustered     NMI     ARI   time')
  const optionsOf = ({ precision, t }) => {
    const options = { precision }
    if (linkage) options.linkage = linkage
    if (arg('cap')) options.maxCentroidDistance = Number(arg('cap'))
    if (arg('min-cohesion')) options.minCohesion = Number(arg('min-cohesion'))
    if (t !== undefined) options.distanceThreshold = t
    return options
  }
  for (const run of runs) {
    const { precision, t } = run
    const options = optionsOf(run)
    const started = Date.now()
    const result = await qi.cluster(questions, options)
    const ms = Date.now() - started
    const predicted = labels(result, rows.length)
    console.log(
      `${precision.padEnd(8)} ${(linkage || 'ward').padEnd(9)} ${String(t ?? 'default').padStart(9)}  ${String(result.stats.clusters).padStart(8)}  ${String(result.stats.unclustered).padStart(11)}  ${nmi(truth, predicted).toFixed(3).padStart(6)}  ${ari(truth, predicted).toFixed(3).padStart(6)}  ${(ms / 1000).toFixed(1)}s`,
    )
  }
  if (process.argv.includes('--no-months')) return
  const intents = rows.filter((r) => r.intent !== 'oos')
  console.log(`\nmonth-sized samples of CLINC150 ${split} (20 draws each, out-of-scope queries left out; means)`)
  console.log('month                      encoder  linkage   threshold  clusters     NMI     ARI  top-5 purity')
  // a community about one product asks about neighbouring things: its months draw an intent and
  // the intents nearest it (cosine of the intents' mean vectors)
  const near = await nearestIntents(intents)
  for (const [name, sizes, neighbours] of MONTHS) {
    const draws = monthDraws(intents, sizes, 20, neighbours ? near : null)
    for (const run of runs) {
      const m = await monthScores(draws, optionsOf(run))
      console.log(
        `${name.padEnd(26)} ${run.precision.padEnd(8)} ${(linkage || 'ward').padEnd(9)} ${String(run.t ?? 'default').padStart(9)}  ${m.clusters.toFixed(1).padStart(8)}  ${m.nmi.toFixed(3).padStart(6)}  ${m.ari.toFixed(3).padStart(6)}  ${m.purity.toFixed(3).padStart(12)}`,
      )
    }
  }
  if (process.argv.includes('--no-salutations')) return
  // the busier months posted as chat and analysed as a tenant's month, 80 % of the queries opened
  // by a salutation of one kind: the clusters should not follow the salutations
  console.log(`
the busier months as chat (analyzeTenant, every message reported, each its own conversation; 80 % of the queries opened by a salutation)`)
  console.log('salutation                                   NMI     ARI  top-5 purity')
  const draws = monthDraws(intents, BUSIER, 20)
  for (const [kind, label] of [[null, 'none'], ['greeting', 'a greeting ("hi all, ")'], ['address', 'a helper\'s name, mention or "nick:"'], ['appeal', 'a plea ("can anyone help? ")']]) {
    const m = await chatMonthScores(draws, kind)
    console.log(`${label.padEnd(42)} ${m.nmi.toFixed(3).padStart(6)}  ${m.ari.toFixed(3).padStart(6)}  ${m.purity.toFixed(3).padStart(12)}`)
  }
}

const HELPERS = [['111', 'alice'], ['222', 'bobby'], ['333', 'carol_dev'], ['444', 'dave']]
const SALUTATIONS = {
  greeting: () => ['hi all, ', 'hello everyone! ', 'hey guys, ', 'Hi, ', 'good morning folks. ', 'hey there! ', 'Hello '],
  address: () => HELPERS.flatMap(([id, name]) => [`${name}: `, `${name}, `, `@${name} `, `<@${id}> `]),
  appeal: () => ['can anyone help? ', 'quick question: ', 'does anyone know ', 'can someone help me? '],
}

/**
 * Mean NMI, ARI and top-5 purity of analyzeTenant on each draw posted as a month of chat: each
 * query a message of its own author, hours apart, after the helpers said hello; with `kind`, 80 %
 * of them opened by a salutation of that kind (fixed seed).
 */
async function chatMonthScores(draws, kind) {
  const random = seeded(5)
  const sum = { nmi: 0, ari: 0, purity: 0 }
  for (const rows of draws) {
    const start = Date.UTC(2026, 9, 1)
    const at = (minutes) => new Date(start + minutes * 60_000).toISOString()
    const messages = HELPERS.map(([id, name], i) => ({ id: `h${i}`, channelId: 'c', authorId: id, authorName: name, content: 'welcome to the server!', timestamp: at(i) }))
    rows.forEach((r, i) => {
      const pool = kind && random() < 0.8 ? SALUTATIONS[kind]() : null
      const content = pool ? pool[Math.floor(random() * pool.length)] + r.text : r.text
      messages.push({ id: `q${i}`, channelId: 'c', authorId: `u${i}`, content, timestamp: at(60 + i * 90) })
    })
    const result = await qi.analyzeTenant({ tenantId: 'eval', month: '2026-10', messages, options: { questions: 'all', threshold: 0, minAskers: 1 } })
    const label = new Map()
    result.clusters.forEach((c) => c.messageIds.forEach((id) => label.set(id, `c${c.id}`)))
    result.questions.forEach((q) => q.messageIds.forEach((id) => label.has(id) || label.set(id, `u${q.id}`)))
    const ids = rows.map((_, i) => `q${i}`).filter((id) => label.has(id))
    const truth = ids.map((id) => rows[Number(id.slice(1))].intent)
    sum.nmi += nmi(truth, ids.map((id) => label.get(id)))
    sum.ari += ari(truth, ids.map((id) => label.get(id)))
    const top = topMembers(result.clusters, (id) => (id.startsWith('q') ? rows[Number(id.slice(1))].intent : undefined))
    sum.purity += top.members ? top.main / top.members : 0
  }
  return { nmi: sum.nmi / draws.length, ari: sum.ari / draws.length, purity: sum.purity / draws.length }
}

/**
 * The cluster label of each of the `n` texts (ids "0" … n−1) in a `cluster()` result; unclustered
 * texts count as singletons (their duplicates share one).
 */
function labels(result, n) {
  const predicted = new Array(n)
  result.clusters.forEach((c) => c.messageIds.forEach((id) => (predicted[Number(id)] = `c${c.id}`)))
  result.unclustered.forEach((u) => u.messageIds.forEach((id) => (predicted[Number(id)] = `u${u.id}`)))
  const missing = predicted.findIndex((p) => p === undefined)
  if (missing >= 0) throw new Error(`text ${missing} is in no cluster and not unclustered`)
  return predicted
}

/** Intents per month and queries per intent: skewed, as a month's topics are. */
const SMALL = [15, 12, 9, 7, 6, 5, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
const BUSIER = [30, 24, 18, 15, 12, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, ...Array(22).fill(1)]
/** [name, sizes, whether the intents are neighbours (one product) rather than any] */
const MONTHS = [
  ['small: 20 intents, 91', SMALL, false],
  ['busier: 50 intents, 260', BUSIER, false],
  ['one product: 20 near, 91', SMALL, true],
]

/** Each intent's other intents, nearest first (cosine of the mean vectors of their queries). */
async function nearestIntents(rows) {
  const groups = groupBy(rows, (r) => r.intent)
  const vectors = await qi.embed(rows.map((r) => r.text))
  const index = new Map(rows.map((r, i) => [r, i]))
  const means = groups.map((g) => {
    const m = new Float64Array(vectors[0].length)
    for (const r of g) vectors[index.get(r)].forEach((x, k) => (m[k] += x))
    const norm = Math.sqrt(dot(m, m))
    return m.map((x) => x / norm)
  })
  return new Map(
    groups.map((g, i) => [
      g[0].intent,
      groups
        .map((h, j) => [h[0].intent, dot(means[i], means[j])])
        .filter((_, j) => j !== i)
        .sort((a, b) => b[1] - a[1])
        .map(([intent]) => intent),
    ]),
  )
}

/**
 * `count` samples of `rows`: each draws `sizes.length` intents and `sizes[k]` queries of the k-th
 * (fixed seed); with `near`, an intent and the ones nearest it.
 */
function monthDraws(rows, sizes, count, near) {
  const random = seeded(7)
  const shuffle = (list) => {
    const a = [...list]
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[a[i], a[j]] = [a[j], a[i]]
    }
    return a
  }
  const byIntent = new Map(groupBy(rows, (r) => r.intent).map((g) => [g[0].intent, g]))
  return Array.from({ length: count }, () => {
    const seed = shuffle([...byIntent.keys()])
    const picked = near ? shuffle([seed[0], ...near.get(seed[0]).slice(0, sizes.length - 1)]) : seed.slice(0, sizes.length)
    return shuffle(picked.flatMap((intent, k) => shuffle(byIntent.get(intent)).slice(0, sizes[k])))
  })
}

/** Mean NMI, ARI, number of clusters and top-5 purity of clustering each draw with `options`. */
async function monthScores(draws, options) {
  const sum = { nmi: 0, ari: 0, clusters: 0 }
  let top = 0
  let topMain = 0
  for (const rows of draws) {
    const result = await qi.cluster(rows.map((r, i) => ({ id: String(i), text: r.text })), options)
    const predicted = labels(result, rows.length)
    const truth = rows.map((r) => r.intent)
    sum.nmi += nmi(truth, predicted)
    sum.ari += ari(truth, predicted)
    sum.clusters += result.clusters.length
    const t = topMembers(result.clusters, (id) => truth[Number(id)])
    top += t.members
    topMain += t.main
  }
  const n = draws.length
  return { nmi: sum.nmi / n, ari: sum.ari / n, clusters: sum.clusters / n, purity: top ? topMain / top : 0 }
}

/**
 * Of the top 5 clusters' members whose intent is known (`intentOf(id)`, else undefined): how many
 * there are, and how many belong to their cluster's main intent.
 */
function topMembers(clusters, intentOf) {
  let members = 0
  let main = 0
  for (const c of clusters.slice(0, 5)) {
    const counts = new Map()
    for (const intent of c.messageIds.map(intentOf).filter((x) => x !== undefined)) counts.set(intent, (counts.get(intent) ?? 0) + 1)
    for (const n of counts.values()) members += n
    main += Math.max(0, ...counts.values())
  }
  return { members, main }
}

/** The opening turn of a dialog's starter and the other people's messages, for dialogs that got a reply. */
function turnsAndReplies(dialogs) {
  // the corpora's placeholders, as the library's prose reduction writes them
  const prose = (t) => t.replace(/\[<-CODE->\]/g, '[code]').replace(/\[<-(LINK|ISSUE)->\]/g, '[link]')
  const out = []
  for (const msgs of dialogs) {
    const asker = msgs[0].author
    let k = 0
    while (k < msgs.length && msgs[k].author === asker) k++
    const replies = msgs.slice(k).filter((m) => m.author !== asker)
    if (replies.length === 0) continue
    out.push({ turn: msgs.slice(0, k).map((m) => prose(m.text)).join(' '), replies: replies.map((m) => prose(m.text)).join(' ') })
  }
  return out
}

function groupBy(rows, key) {
  const m = new Map()
  for (const r of rows) {
    const k = key(r)
    if (!m.has(k)) m.set(k, [])
    m.get(k).push(r)
  }
  return [...m.values()]
}

function dot(a, b) {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

async function capCurve(caps) {
  const sources = {
    'Gitter, 7 rooms by hand': turnsAndReplies(
      groupBy(readJsonl('dialogs/gitter_manual_dialogs.jsonl'), (r) => `${r.project}#${r.dialog}`).map((d) => d.sort((a, b) => a.index - b.index)),
    ),
    'IRC #ubuntu, by hand': turnsAndReplies(
      groupBy(readJsonl('dialogs/irc_ubuntu_train_annotated.jsonl').filter((r) => !r.system), (r) => r.conversation).slice(0, 6000),
    ),
  }
  console.log('\nthe cluster stage\'s token cap: each ask\'s opening turn finding its own dialog\'s replies')
  console.log('source                      dialogs    cap   recall@1  recall@5     MRR  cosine to 256')
  for (const [name, pairs] of Object.entries(sources)) {
    const replies = await qi.embed(pairs.map((p) => p.replies), { maxTokens: 256 })
    const full = await qi.embed(pairs.map((p) => p.turn), { maxTokens: 256 })
    for (const cap of caps) {
      const turns = cap === 256 ? full : await qi.embed(pairs.map((p) => p.turn), { maxTokens: cap })
      let r1 = 0
      let r5 = 0
      let mrr = 0
      let cos = 0
      turns.forEach((t, i) => {
        const own = dot(t, replies[i])
        let rank = 1
        for (let j = 0; j < replies.length; j++) if (j !== i && dot(t, replies[j]) > own) rank++
        r1 += rank === 1
        r5 += rank <= 5
        mrr += 1 / rank
        cos += dot(t, full[i])
      })
      const n = pairs.length
      const f = (x) => (x / n).toFixed(4).padStart(8)
      console.log(`${name.padEnd(26)} ${String(n).padStart(8)}  ${String(cap).padStart(5)}  ${f(r1)}  ${f(r5)}  ${f(mrr)}  ${f(cos).padStart(13)}`)
    }
  }
}

main()
  .then(() => (process.argv.includes('--no-token-caps') ? undefined : capCurve(arg('token-caps', '64,80,96,128,256').split(',').map(Number))))
  .catch((e) => {
    console.error(e)
    process.exit(1)
  })
