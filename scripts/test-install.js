#!/usr/bin/env node
// Installs question-insights as a user does, from the packed tarballs, and uses it:
//   1. packs the main package (with its optionalDependencies) and the platform package of this
//      machine (scripts/pack.js) and prints their contents and sizes;
//   2. installs both tarballs into a clean temporary project, with a PATH that holds node, npm and
//      sh only (no cargo, no python) and no registry access needed (--offline);
//   3. there: `npx question-insights models` (pointed at the models this checkout already fetched,
//      so nothing is downloaded again), then require('question-insights') → classify, cluster,
//      and the CLI on a DiscordChatExporter export; ONNX Runtime and the classifier head must come
//      from the installed platform package;
//   4. installs the main tarball alone and checks the error names the missing platform package.
// Run by `npm test` (needs the built addon and the fetched models: scripts/setup.js).
'use strict'
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pack, describe } = require('./pack')
const { platformPackage } = require('./platform')

const root = path.resolve(__dirname, '..')
const started = Date.now()
let failures = 0
let passed = 0

function step(name, fn) {
  const t0 = Date.now()
  try {
    fn()
    passed++
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  } catch (e) {
    failures++
    console.log(`not ok - ${name}\n  ${String(e.stack || e.message).split('\n').join('\n  ')}`)
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-install-'))
const platform = platformPackage()
if (!platform) {
  console.log(`test-install: no platform package for ${process.platform}-${process.arch}, skipped`)
  process.exit(0)
}

// A PATH with node, npm, npx and sh (npx runs bins through it) only.
const bin = path.join(tmp, 'bin')
fs.mkdirSync(bin)
for (const tool of ['node', 'npm', 'npx', 'sh']) {
  const real = tool === 'node' ? process.execPath : tool === 'sh' ? '/bin/sh' : findOnPath(tool)
  fs.symlinkSync(real, path.join(bin, tool))
}
const modelsDir = process.env.QUESTION_INSIGHTS_MODELS || path.join(root, 'models')
const cache = path.join(tmp, 'npm-cache') // an empty npm cache: nothing can come from earlier installs
const baseEnv = {
  PATH: bin,
  HOME: tmp,
  TMPDIR: tmp,
  LANG: 'C.UTF-8',
  npm_config_cache: cache,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
}

function findOnPath(tool) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, tool)
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate)
  }
  throw new Error(`${tool} is not on PATH`)
}

function run(cmd, args, { cwd, env = {}, allowFail = false } = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...baseEnv, ...env }, encoding: 'utf8', maxBuffer: 256 << 20 })
  const output = `${r.stdout || ''}${r.stderr || ''}`
  if (!allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status} (${r.error ? r.error.message : ''}):\n${output}`)
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '', output }
}

function newProject(name) {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }, null, 2))
  return dir
}

/** A small DiscordChatExporter JSON export of one channel. */
function discordExport(file) {
  const texts = [
    'how do I reset my password?',
    'anyone know how to reset the password on my account?',
    'i forgot my password, how can i reset it?',
    'the deploy worked fine yesterday',
    'how do I install docker on windows?',
    'what is the way to install docker on windows 11?',
    'lol',
    'thanks, that fixed it',
    'is there a dark mode?',
    'can i turn on dark mode somewhere?',
  ]
  const messages = texts.map((content, i) => ({
    id: String(900000000000000000n + BigInt(i)),
    type: 'Default',
    timestamp: `2024-03-0${1 + (i % 5)}T1${i % 10}:00:00.000+00:00`,
    content,
    author: { id: String(1000 + (i % 4)), name: `user${i % 4}`, isBot: false },
    reference: null,
  }))
  fs.writeFileSync(
    file,
    JSON.stringify({ guild: { id: '424242', name: 'Install test guild' }, channel: { id: '777', type: 'GuildTextChat', name: 'help' }, messages }, null, 2),
  )
}

let packed
step('pack the main and the platform package', () => {
  packed = pack({ out: path.join(tmp, 'packages') })
  for (const line of describe(packed)) console.log(`  ${line}`)
  const main = packed.find((p) => p.name === 'question-insights')
  const plat = packed.find((p) => p.name === platform.name)
  assert.ok(main && plat, `expected tarballs of question-insights and ${platform.name}`)
  const mainFiles = main.files.map((f) => f.path)
  for (const f of ['main.js', 'index.js', 'index.d.ts', 'bin/question-insights.js', 'scripts/fetch-models.js', 'scripts/platform.js', 'models/manifest.json'])
    assert.ok(mainFiles.includes(f), `main tarball lacks ${f}`)
  assert.ok(!mainFiles.some((f) => f.endsWith('.node')), 'the main tarball must not carry a binary')
  const platFiles = plat.files.map((f) => f.path)
  for (const f of [`question-insights.${platform.abi}.node`, ...platform.onnxruntime, 'models/classifier/question-head.json'])
    assert.ok(platFiles.includes(f), `${platform.name} tarball lacks ${f}`)
  const staged = JSON.parse(run('tar', ['-xOzf', main.tarball, 'package/package.json'], { env: { PATH: process.env.PATH } }).stdout)
  assert.equal(staged.optionalDependencies[platform.name], staged.version, 'optionalDependencies are version-locked')
  assert.equal(Object.keys(staged.optionalDependencies).length, 5)
  assert.equal(staged.dependencies, undefined, 'the published package needs no other dependency')
})

const project = newProject('app')
step('npm install the two tarballs, offline, with no cargo and no python on PATH', () => {
  const probe = run('/bin/sh', ['-c', 'for c in cargo rustc python3 python pip; do command -v $c; done; true'])
  assert.equal(probe.stdout.trim(), '', `PATH still finds: ${probe.stdout}`)
  const main = packed.find((p) => p.name === 'question-insights').tarball
  const plat = packed.find((p) => p.name === platform.name).tarball
  const r = run('npm', ['install', '--offline', '--no-audit', '--no-fund', main, plat], { cwd: project })
  console.log(`  ${r.output.trim().split('\n').join('\n  ')}`)
  assert.doesNotMatch(r.output, /EBADENGINE|Unknown (project|user|env) config|npm (warn|WARN)/)
  assert.ok(fs.existsSync(path.join(project, 'node_modules', platform.name, `question-insights.${platform.abi}.node`)))
  assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node (and its CUDA download) is not installed for users')
})

step('npx question-insights models: verifies the models (nothing downloaded) and the bundled ONNX Runtime', () => {
  const r = run('npx', ['--offline', 'question-insights', 'models'], { cwd: project, env: { QUESTION_INSIGHTS_MODELS: modelsDir } })
  console.log(`  ${r.output.trim().split('\n').join('\n  ')}`)
  assert.match(r.output, /all \d+ files present and verified/)
  assert.match(r.output, new RegExp(`ONNX Runtime [\\d.]+ ok \\(.*node_modules/${platform.name}/${platform.onnxruntime[0].replace(/\./g, '\\.')}\\)`))
})

step("require('question-insights'): classify and cluster, with the platform package's ONNX Runtime and classifier head", () => {
  const script = `
    const qi = require('question-insights')
    ;(async () => {
      const classified = await qi.classify([
        { id: 'a', content: 'how do I reset my password?' },
        { id: 'b', content: 'the build is green again' },
        { id: 'c', content: 'does it work on windows?' },
      ])
      const clusters = await qi.cluster([
        'how do I reset my password?', 'how can I reset my password', 'I forgot my password, how do I reset it?',
        'how do I install docker on windows?', 'installing docker on windows 11?', 'how to install docker desktop on windows',
      ], { minClusterSize: 2 })
      console.log(JSON.stringify({ classified, clusters: clusters.clusters.map((c) => ({ size: c.size, representative: c.representative.text })), info: qi.modelInfo() }))
    })().catch((e) => { console.error(e.stack || e.message); process.exit(1) })`
  const r = run('node', ['-e', script], { cwd: project, env: { QUESTION_INSIGHTS_MODELS: modelsDir } })
  const { classified, clusters, info } = JSON.parse(r.stdout.trim().split('\n').pop())
  console.log(`  classify: ${classified.map((c) => `${c.id}=${c.isQuestion ? 'question' : 'statement'} (${c.confidence.toFixed(2)})`).join(', ')}`)
  console.log(`  cluster: ${clusters.map((c) => `${c.size} × "${c.representative}"`).join(', ')}`)
  console.log(`  ONNX Runtime: ${info.ortLibrary}; classifier: ${info.classifier} ${info.classifierPath}; models: ${info.modelsDir}`)
  assert.deepEqual(classified.map((c) => c.isQuestion), [true, false, true])
  assert.equal(clusters.length, 2)
  assert.deepEqual(clusters.map((c) => c.size), [3, 3])
  const platformDir = fs.realpathSync(path.join(project, 'node_modules', platform.name))
  assert.equal(fs.realpathSync(info.ortLibrary), path.join(platformDir, platform.onnxruntime[0]))
  assert.equal(info.classifier, 'question-head')
  assert.equal(fs.realpathSync(info.classifierPath), path.join(platformDir, 'models', 'classifier', 'question-head.json'))
  assert.equal(fs.realpathSync(info.modelsDir), fs.realpathSync(modelsDir))
})

step('the CLI analyses a DiscordChatExporter export', () => {
  const file = path.join(project, 'help.json')
  discordExport(file)
  const r = run('npx', ['--offline', 'question-insights', 'analyze', file, '--out', '-'], { cwd: project, env: { QUESTION_INSIGHTS_MODELS: modelsDir } })
  const analysis = JSON.parse(r.stdout)
  console.log(`  ${r.stderr.split('\n').find((l) => / messages → /.test(l))}`)
  assert.equal(analysis.tenantId, '424242')
  assert.equal(analysis.month, '2024-03')
  assert.equal(analysis.stats.messages, 10)
  assert.ok(analysis.stats.questions >= 6, `expected the 7 questions to be found, got ${analysis.stats.questions}`)
  assert.ok(analysis.clusters.length >= 2, `expected clusters, got ${analysis.clusters.length}`)
})

step('without QUESTION_INSIGHTS_MODELS the library looks in the installed package\'s models/', () => {
  const r = run('node', ['-p', "require('question-insights'); process.env.QUESTION_INSIGHTS_MODELS"], { cwd: project })
  assert.equal(r.stdout.trim(), path.join(project, 'node_modules', 'question-insights', 'models'))
})

step('without the platform package, require() names the package to install', () => {
  const bare = newProject('bare')
  const main = packed.find((p) => p.name === 'question-insights').tarball
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', main], { cwd: bare })
  const r = run('node', ['-e', "try { require('question-insights') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"], { cwd: bare })
  const e = JSON.parse(r.stdout)
  assert.equal(e.code, 'ERR_NATIVE_BINDING_MISSING')
  assert.match(e.message, new RegExp(`the package ${platform.name} is not installed`))
  assert.match(e.message, new RegExp(`npm install ${platform.name}@\\d+\\.\\d+\\.\\d+`))
})

fs.rmSync(tmp, { recursive: true, force: true })
console.log(`test-install: ${passed} passed, ${failures} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`)
process.exit(failures ? 1 : 0)
