'use strict'
// The "real, code-heavy" benchmark corpus: a Discord month built from the real chat logs in
// ../shared/data/chatlogs (Gitter docker/docker, 28,586 messages, and IRC #ubuntu, 11,615), read
// at bench time and never copied, with pastes put into about a fifth of the messages.
//
// How a month of N messages is made (deterministic for a seed):
// - Each pass over the logs ("cycle") becomes two channels of the month, one per log, each
//   spanning the month: gaps of up to 5 minutes between messages are kept as they were (the
//   conversation structure), longer gaps are shrunk in proportion so the channel fits the month.
//   IRC's minute-resolution times get seconds. N above 40,201 takes further cycles; cycle k ≥ 1
//   is another product's help channel: its own authors, numbers changed and product names
//   swapped (docker → podman, ubuntu → fedora, …). The last cycle takes the same leading share
//   of each log.
// - Pastes: every Gitter `[<-CODE->]` marker (where a real paste was) becomes inline code (35 %)
//   or a paste; further messages get a paste until about 20 % of messages carry one, three times
//   as likely for a message with '?' or an error word. A paste is code (50 %: JS, Python, TS,
//   Java, YAML, Rust, Go, Dockerfile, shell, JSON, SQL), a stack trace (25 %: Node, Python, Java,
//   Rust) or a log excerpt (25 %: compose, app, nginx, journald, npm, build output); fenced
//   85/60/70 % of the time. Lengths are long-tailed: code lines log-normal with median 12 and
//   σ 0.9 in [5, 200] (p90 ≈ 38, p99 ≈ 97), log lines median 10, σ 1.0 in [3, 200], Java traces
//   median 18 frames (up to 120 with "Caused by"), Node 8, Python 4 (two lines a frame).
// - Discord caps a message at 2,000 characters: a longer message arrives as consecutive messages
//   of the same author 2–8 s apart, each piece of a fenced paste fenced again.
// - `[<-LINK->]` becomes a URL. Discord-like fields: snowflake ids, channelId, authorId (one per
//   author and cycle), authorName, ISO timestamp, replyToId on 60 % of the messages that
//   address a recent speaker ("@nick" in Gitter, "nick:" in IRC); half of the "@nick" become
//   `<@id>` mentions.
const fs = require('node:fs')
const path = require('node:path')
const { rng, pick } = require('./synthetic')
const P = require('./pastes')

const MONTH = '2026-10'
const START = Date.UTC(2026, 9, 1)
const SPAN = 31 * 24 * 3600 * 1000
const KEEP_GAP = 5 * 60 * 1000
const MAX_CHARS = 2000
const PASTE_SHARE = 0.2
const REPLY_SHARE = 0.6
const DISCORD_EPOCH = 1420070400000n

function dataDir() {
  return process.env.QUESTION_INSIGHTS_DATA || path.resolve(__dirname, '..', '..', 'shared', 'data')
}

function available() {
  return fs.existsSync(path.join(dataDir(), 'chatlogs', 'gitter_docker.jsonl'))
}

/** 32-bit hash of strings and numbers (FNV-1a), for per-message seeds and ids. */
function hash(...parts) {
  let h = 0x811c9dc5
  for (const part of parts) {
    const s = String(part)
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
    h ^= 0xff
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const ERROR_WORDS = /error|fail|crash|exception|trace|log|output|config|compose|dockerfile|doesn.t work|not working|broken|denied|refused|cannot|can't|won't/i

/** The two logs as sources: records `{author, text, gap}` in chat order, `gap` in ms. */
function loadSources() {
  const dir = path.join(dataDir(), 'chatlogs')
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const unescape = (t) => t.replace(/\\\\'/g, "'").replace(/\\'/g, "'")
  const gitter = read('gitter_docker.jsonl')
  const docker = gitter.map((m, i) => ({
    author: m.author,
    text: unescape(m.text),
    gap: i === 0 ? 0 : Math.max(0, Date.parse(m.timestamp + 'Z') - Date.parse(gitter[i - 1].timestamp + 'Z')),
  }))
  // IRC: order by file and line; times have minute resolution and the oldest files a 12-hour clock
  const irc = read('irc_ubuntu.jsonl').sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1))
  const linux = irc.map((m, i) => {
    const prev = irc[i - 1]
    let gap
    if (!prev) gap = 0
    else if (prev.file !== m.file) gap = 6 * 3600 * 1000
    else {
      const d = Date.parse(m.timestamp + 'Z') - Date.parse(prev.timestamp + 'Z')
      gap = d < 0 || d > 3600 * 1000 ? 60_000 : d
    }
    // seconds within the minute: a same-minute message 3–25 s later, the next minute's 30–90 s
    const r = rng(hash('irc-gap', i))
    gap = gap === 0 ? P.int(r, 3, 25) * 1000 : gap === 60_000 ? P.int(r, 30, 90) * 1000 : gap
    return { author: m.author, text: m.text, gap }
  })
  const sources = [
    { name: 'docker', label: 'Gitter docker/docker', records: docker, swaps: [['docker', ['docker', 'podman', 'containerd', 'nerdctl', 'lxd', 'buildah', 'colima']], ['compose', ['compose', 'swarm', 'nomad', 'k3s', 'helm', 'kompose', 'skaffold']], ['nginx', ['nginx', 'caddy', 'traefik', 'haproxy', 'envoy', 'apache', 'varnish']]] },
    { name: 'linux', label: 'IRC #ubuntu', records: linux, swaps: [['ubuntu', ['ubuntu', 'fedora', 'debian', 'mint', 'arch', 'opensuse', 'pop_os']], ['apt-get', ['apt-get', 'dnf', 'apt', 'pacman', 'zypper', 'yum', 'apt']], ['gnome', ['gnome', 'kde', 'xfce', 'cinnamon', 'mate', 'sway', 'lxqt']]] },
  ]
  // paste probability per record: calibrated once over each log so that, with the markers
  // counted, about PASTE_SHARE of the messages carry a paste
  for (const s of sources) {
    const weights = s.records.map((m) => (m.text.includes('[<-CODE->]') ? 0 : m.text.includes('?') || ERROR_WORDS.test(m.text) ? 3 : 1))
    const markerPastes = s.records.filter((m) => m.text.includes('[<-CODE->]')).length * 0.65
    const wanted = Math.max(0, PASTE_SHARE * s.records.length - markerPastes)
    const base = wanted / weights.reduce((a, b) => a + b, 0)
    s.records.forEach((m, i) => (m.pasteP = Math.min(0.9, base * weights[i])))
  }
  return sources
}

const URLS = ['https://docs.docker.com/compose/networking/', 'https://github.com/moby/moby/issues/', 'https://stackoverflow.com/questions/', 'https://pastebin.com/', 'https://gist.github.com/', 'https://hub.docker.com/_/', 'https://askubuntu.com/questions/', 'https://discord.com/developers/docs/']

function swapCase(word, like) {
  return like[0] === like[0].toUpperCase() ? word[0].toUpperCase() + word.slice(1) : word
}

/** Cycle k ≥ 1: another product's channel — numbers changed, product names swapped. */
function perturb(text, cycle, swaps) {
  if (cycle === 0) return text
  let t = text.replace(/\d+/g, (d) => {
    const v = (Number(d.slice(0, 9)) + cycle * 7) % 10 ** Math.min(9, d.length)
    return String(v).padStart(d.length, '0')
  })
  for (const [from, to] of swaps) {
    const word = to[cycle % to.length]
    t = t.replace(new RegExp(`\\b${from.replace('-', '\\-')}\\b`, 'gi'), (m) => swapCase(word, m))
  }
  return t
}

function snowflake(t, seq) {
  return ((BigInt(t) - DISCORD_EPOCH) << 22n | BigInt(seq & 0x3fffff)).toString()
}
const userId = (author, cycle) => snowflake(Date.UTC(2020, 0, 1) + (hash('user', author, cycle) % 1e9), hash(author, cycle))

/** Message times of a channel: short gaps kept, long ones shrunk so the channel spans the month. */
function channelTimes(records, offset) {
  const target = SPAN * 0.985 - offset
  let short = 0
  let longCount = 0
  let longExtra = 0
  for (let i = 1; i < records.length; i++) {
    const g = records[i].gap
    if (g <= KEEP_GAP) short += g
    else {
      longCount++
      longExtra += g - KEEP_GAP
    }
  }
  const room = target - short - longCount * KEEP_GAP
  const f = room > 0 && longExtra > 0 ? Math.min(1, room / longExtra) : 0
  const squeeze = room < 0 ? target / (short + longCount * KEEP_GAP) : 1
  const times = new Array(records.length)
  let t = START + offset
  for (let i = 0; i < records.length; i++) {
    const g = i === 0 ? 0 : records[i].gap
    t += (g <= KEEP_GAP ? g : KEEP_GAP + (g - KEEP_GAP) * f) * squeeze
    times[i] = Math.round(t)
  }
  return times
}

/**
 * The month as a stream of pages (time order across channels). `corpus(n, {seed, pastes})`
 * returns `{month, nextPage(size), stats()}`; `pastes: false` gives the plain logs (the Gitter row).
 */
function corpus(n, { seed = 13, pastes = true } = {}) {
  const sources = loadSources()
  const cycleSize = sources.reduce((s, x) => s + x.records.length, 0)
  const channels = []
  for (let cycle = 0, left = n; left > 0; cycle++) {
    const share = Math.min(1, left / cycleSize)
    for (const src of sources) {
      const count = Math.round(src.records.length * share)
      if (count === 0) continue
      const records = src.records.slice(0, count)
      const offset = rng(hash(seed, 'offset', cycle, src.name))() * 6 * 3600 * 1000
      channels.push({ src, cycle, records, times: channelTimes(records, offset), id: snowflake(Date.UTC(2021, 0, 1), hash(seed, 'channel', cycle, src.name)), name: `help-${src.name}-${cycle}` })
    }
    left -= cycleSize
  }
  const stats = { messages: 0, channels: channels.length, cycles: channels[channels.length - 1].cycle + 1, authors: new Set(), withPaste: 0, kinds: {}, pasteLines: [], chars: [], replies: 0, mentions: 0, splitMessages: 0, inline: 0 }
  let seq = 0
  const streams = channels.map((ch) => channelStream(ch))

  function* channelStream(ch) {
    const recent = [] // [author, id] of the last 50 messages
    const ids = new Map()
    let last = 0
    for (let i = 0; i < ch.records.length; i++) {
      const rec = ch.records[i]
      const r = rng(hash(seed, ch.cycle, ch.src.name, i))
      let text = perturb(rec.text, ch.cycle, ch.src.swaps)
      const author = `${rec.author}${ch.cycle ? '~' + ch.cycle : ''}`
      const authorId = userId(rec.author, ch.cycle)
      stats.authors.add(authorId)
      // pastes
      const pieces = []
      let kind = null
      let lines = 0
      if (pastes) {
        const parts = text.split('[<-CODE->]')
        if (parts.length > 1) {
          text = parts[0]
          for (let k = 1; k < parts.length; k++) {
            if (kind || r() < 0.35) {
              text += ' ' + P.inlineCode(r) + ' ' + parts[k]
              stats.inline++
            } else {
              const p = P.paste(r)
              kind = p.kind
              lines = p.lines.length
              text += '\n' + '\u0000' + '\n' + parts[k]
              pieces.push(p)
            }
          }
        } else if (r() < rec.pasteP) {
          const p = P.paste(r)
          kind = p.kind
          lines = p.lines.length
          const place = r()
          if (place < 0.75) text = `${text}\n\u0000${r() < 0.2 ? '\n' + pick(r, P.OUTROS) : ''}`
          else if (place < 0.9) text = `${pick(r, P.INTROS)}\n\u0000\n${text}`
          else text = `\u0000\n${text}`
          pieces.push(p)
        }
      } else {
        text = text.replace(/\[<-CODE->\]/g, '`…`')
      }
      text = text.replace(/\[<-LINK->\]/g, () => pick(r, URLS) + (r() < 0.7 ? String(P.int(r, 1000, 99999999)) : ''))
      // replies and mentions
      let replyToId
      const addressed = ch.src.name === 'linux' ? /^([^\s:,]+)[:,]\s/.exec(text)?.[1] : /(?:^|\s)@([\w.-]+)/.exec(text)?.[1]
      if (addressed) {
        const name = `${addressed}${ch.cycle ? '~' + ch.cycle : ''}`
        const hit = recent.findLast(([a]) => a === name)
        if (hit && r() < REPLY_SHARE) replyToId = hit[1]
        if (ch.src.name === 'docker' && ids.has(name) && r() < 0.5) {
          text = text.replace(`@${addressed}`, `<@${ids.get(name)}>`)
          stats.mentions++
        }
      }
      ids.set(author, authorId)
      // the paste in, cut at Discord's limit
      let bodies
      if (pieces.length) {
        const p = pieces[0]
        stats.withPaste++
        stats.kinds[kind] = (stats.kinds[kind] || 0) + 1
        stats.pasteLines.push(lines)
        const [before, after] = text.split('\u0000')
        const chunks = P.pasteChunks(p, MAX_CHARS - 200)
        bodies = chunks.map((c, k) => (k === 0 ? before : '') + c + (k === chunks.length - 1 ? after : ''))
        bodies = bodies.map((b) => b.trim().slice(0, MAX_CHARS))
      } else {
        bodies = [text.trim().slice(0, MAX_CHARS)]
      }
      if (bodies.length > 1) stats.splitMessages += bodies.length - 1
      let t = Math.max(ch.times[i], last)
      for (let k = 0; k < bodies.length; k++) {
        if (k > 0) t += P.int(r, 2, 8) * 1000
        const id = snowflake(t, seq++)
        const m = { id, channelId: ch.id, authorId, authorName: author, content: bodies[k], timestamp: new Date(t).toISOString() }
        if (k === 0 && replyToId) {
          m.replyToId = replyToId
          stats.replies++
        }
        recent.push([author, id])
        if (recent.length > 50) recent.shift()
        stats.chars.push(bodies[k].length)
        last = t
        yield [t, m]
      }
    }
  }

  const heads = streams.map((s) => s.next())
  function nextPage(size = 1000) {
    const page = []
    while (page.length < size) {
      let best = -1
      for (let c = 0; c < heads.length; c++) if (!heads[c].done && (best < 0 || heads[c].value[0] < heads[best].value[0])) best = c
      if (best < 0) break
      page.push(heads[best].value[1])
      heads[best] = streams[best].next()
    }
    stats.messages += page.length
    return page.length ? page : null
  }

  const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : 0)
  function summary() {
    const lines = [...stats.pasteLines].sort((a, b) => a - b)
    const chars = [...stats.chars].sort((a, b) => a - b)
    const share = (k) => ((100 * (stats.kinds[k] || 0)) / stats.messages).toFixed(1)
    return {
      messages: stats.messages,
      channels: stats.channels,
      cycles: stats.cycles,
      authors: stats.authors.size,
      pastes: pastes,
      withPastePercent: (100 * stats.withPaste) / stats.messages,
      kindsPercent: { code: Number(share('code')), trace: Number(share('trace')), log: Number(share('log')) },
      pasteLines: { p50: pct(lines, 0.5), p90: pct(lines, 0.9), p99: pct(lines, 0.99), max: lines[lines.length - 1] || 0 },
      chars: { p50: pct(chars, 0.5), p90: pct(chars, 0.9), p99: pct(chars, 0.99), max: chars[chars.length - 1] || 0, total: chars.reduce((a, b) => a + b, 0) },
      splitMessages: stats.splitMessages,
      inlineCode: stats.inline,
      repliesPercent: (100 * stats.replies) / stats.messages,
      mentions: stats.mentions,
    }
  }
  return { month: MONTH, nextPage, summary }
}

/** One line describing a corpus summary, for the bench output. */
function describe(s) {
  if (!s.pastes) return `${s.messages} messages, ${s.channels} channels, ${s.authors} authors, chars p50/p90/p99/max ${s.chars.p50}/${s.chars.p90}/${s.chars.p99}/${s.chars.max}`
  return `${s.messages} messages in ${s.channels} channels (${s.cycles} pass${s.cycles > 1 ? 'es' : ''} over Gitter docker + IRC #ubuntu), ${s.authors} authors; ` +
    `${s.withPastePercent.toFixed(1)} % carry a paste (code ${s.kindsPercent.code} %, trace ${s.kindsPercent.trace} %, log ${s.kindsPercent.log} %), ` +
    `paste lines p50/p90/p99/max ${s.pasteLines.p50}/${s.pasteLines.p90}/${s.pasteLines.p99}/${s.pasteLines.max}, ` +
    `message chars p50/p90/p99/max ${s.chars.p50}/${s.chars.p90}/${s.chars.p99}/${s.chars.max} (${(s.chars.total / 1e6).toFixed(1)} M chars), ` +
    `${s.splitMessages} extra messages from pastes over 2,000 chars, ${s.repliesPercent.toFixed(1)} % replies`
}

/**
 * The corpus as a file of pages (one JSON array of messages a line) in the temp folder, made once
 * by a child process so that generating it costs the measured process neither time nor memory;
 * reused while the generator is unchanged. Returns `{file, summary}`.
 */
function corpusFile(n, { seed = 13, pastes = true } = {}) {
  const os = require('node:os')
  const { execFileSync } = require('node:child_process')
  const version = hash(fs.readFileSync(__filename, 'utf8'), fs.readFileSync(path.join(__dirname, 'pastes.js'), 'utf8'), fs.readFileSync(path.join(__dirname, 'synthetic.js'), 'utf8'))
  const file = path.join(os.tmpdir(), `qi-bench-corpus-${n}-${seed}-${pastes ? 'code' : 'plain'}-${version.toString(16)}.jsonl`)
  if (!fs.existsSync(file + '.json')) {
    execFileSync(process.execPath, [__filename, String(n), '--seed', String(seed), '--write', file, ...(pastes ? [] : ['--plain'])], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  return { file, summary: JSON.parse(fs.readFileSync(file + '.json', 'utf8')) }
}

/** `() => Promise<page | null>` over a corpus file: one line read and parsed per call. */
function pageReader(file) {
  const readline = require('node:readline')
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity })[Symbol.asyncIterator]()
  return async () => {
    const { value, done } = await lines.next()
    return done ? null : JSON.parse(value)
  }
}

module.exports = { corpus, corpusFile, pageReader, describe, available, MONTH }

if (require.main === module) {
  // node bench/realistic.js [n] [--seed S] [--plain] [--texts | --write FILE]
  //   prints the corpus summary; --texts prints each message's text as a JSON string a line;
  //   --write writes pages of 1000 (a JSON array a line) to FILE and the summary to FILE.json
  const args = process.argv.slice(2)
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
  const n = Number(args[0] || 25000)
  const c = corpus(n, { seed: Number(opt('--seed') || 13), pastes: !args.includes('--plain') })
  const out = opt('--write')
  const fd = out ? fs.openSync(out + '.tmp', 'w') : null
  const t = process.hrtime.bigint()
  for (let page; (page = c.nextPage(1000)); ) {
    if (fd !== null) fs.writeSync(fd, JSON.stringify(page) + '\n')
    else if (args.includes('--texts')) for (const m of page) process.stdout.write(JSON.stringify(m.content) + '\n')
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (fd !== null) {
    fs.closeSync(fd)
    fs.renameSync(out + '.tmp', out)
    fs.writeFileSync(out + '.json', JSON.stringify(c.summary()))
  } else if (!args.includes('--texts')) {
    console.log(describe(c.summary()), `\n(generated in ${(ms / 1000).toFixed(1)} s)`)
  }
}
