#!/usr/bin/env node
// Packs the publishable tarballs the napi-rs way:
//   - each platform package npm/<abi>/ (question-insights-<abi>) gets its built addon
//     (question-insights.<abi>.node, as `napi artifacts` copies it), the ONNX Runtime library of
//     its platform (from the onnxruntime-node devDependency, sha256-checked against
//     models/manifest.json) and the classifier head, then `npm pack`;
//   - the main package is packed with `optionalDependencies` on every platform package at its
//     own version (what `napi pre-publish` writes into package.json before `npm publish`).
// Only platforms whose addon is present are packed (here: the one cargo built).
//   node scripts/pack.js [--out DIR] [--artifacts DIR] [--json]
// Prints each tarball with its files and sizes.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { formatSize, sha256File: sha256 } = require('./fetch-models')
const { PLATFORMS } = require('./platform')

const root = path.resolve(__dirname, '..')

/** napi-rs' name for a Rust target triple (npm/<abi>). */
function abiOf(triple) {
  const [arch, , sys, env] = triple.split('-')
  const a = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }[arch] || arch
  if (sys === 'darwin') return `darwin-${a}`
  if (triple.includes('windows')) return `win32-${a}-${env || 'msvc'}`
  if (sys === 'linux') return `linux-${a}-${env}`
  return `${sys}-${a}`
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stderr}${r.stdout}`)
  return r.stdout
}

/** `npm pack` of `dir` into `out`: { filename, size, unpackedSize, files: [{path, size}] }. */
function npmPack(dir, out) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], dir))
  return { ...info, tarball: path.join(out, info.filename) }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

function pack({ out, artifacts = root } = {}) {
  fs.mkdirSync(out, { recursive: true })
  const pkg = readJson(path.join(root, 'package.json'))
  const manifest = readJson(path.join(root, 'models', 'manifest.json'))
  const abis = pkg.napi.targets.map(abiOf)
  for (const abi of abis) if (!PLATFORMS[abi]) throw new Error(`napi target ${abi} is missing from scripts/platform.js`)
  for (const abi of Object.keys(PLATFORMS)) if (!abis.includes(abi)) throw new Error(`scripts/platform.js lists ${abi}, which package.json's napi.targets lacks`)

  const results = []
  for (const abi of abis) {
    const dir = path.join(root, 'npm', abi)
    const platformPkg = readJson(path.join(dir, 'package.json'))
    if (platformPkg.name !== `${pkg.name}-${abi}`) throw new Error(`npm/${abi}/package.json is named ${platformPkg.name}, expected ${pkg.name}-${abi}`)
    if (platformPkg.version !== pkg.version) throw new Error(`npm/${abi}/package.json has version ${platformPkg.version}, the main package ${pkg.version}: keep them locked`)
    const addon = `${pkg.napi.binaryName}.${abi}.node`
    if (!fs.existsSync(path.join(artifacts, addon))) continue
    fs.copyFileSync(path.join(artifacts, addon), path.join(dir, addon))
    // ONNX Runtime of that platform, from onnxruntime-node (which ships every platform's)
    const p = PLATFORMS[abi]
    if (p.onnxruntime.length) {
      const ortDir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json', { paths: [root] })), 'bin', 'napi-v6', p.os, p.arch)
      for (const lib of p.onnxruntime) fs.copyFileSync(path.join(ortDir, lib), path.join(dir, lib))
      const expected = manifest.onnxruntime.sha256[`${p.os}-${p.arch}`]
      const actual = sha256(path.join(dir, p.onnxruntime[0]))
      if (expected && actual !== expected) throw new Error(`${p.onnxruntime[0]} for ${abi}: sha256 ${actual}, models/manifest.json names ${expected}`)
    }
    const classifier = path.join(dir, 'models', 'classifier')
    fs.mkdirSync(classifier, { recursive: true })
    for (const f of ['question-head.json', 'README.md']) fs.copyFileSync(path.join(root, 'models', 'classifier', f), path.join(classifier, f))
    results.push({ name: platformPkg.name, ...npmPack(dir, out) })
  }
  if (results.length === 0) throw new Error(`no built addon in ${artifacts} (${abis.map((a) => `${pkg.napi.binaryName}.${a}.node`).join(', ')}): run npm run build first`)

  // the main package, staged with the optionalDependencies `napi pre-publish` adds
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-pack-main-'))
  try {
    const listed = JSON.parse(run('npm', ['pack', '--dry-run', '--json'], root))[0].files.map((f) => f.path)
    for (const file of listed) {
      fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true })
      fs.copyFileSync(path.join(root, file), path.join(stage, file))
    }
    const staged = readJson(path.join(stage, 'package.json'))
    staged.optionalDependencies = Object.fromEntries(abis.map((abi) => [`${pkg.name}-${abi}`, pkg.version]))
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n')
    results.unshift({ name: pkg.name, ...npmPack(stage, out) })
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
  return results
}

/** The tarballs, their files and sizes, as lines. */
function describe(results) {
  const lines = []
  for (const r of results) {
    lines.push(`${r.filename}: ${formatSize(r.size)} packed, ${formatSize(r.unpackedSize)} unpacked, ${r.files.length} files`)
    for (const f of [...r.files].sort((a, b) => a.path.localeCompare(b.path))) lines.push(`    ${formatSize(f.size).padStart(9)}  ${f.path}`)
  }
  return lines
}

if (require.main === module) {
  const args = process.argv.slice(2)
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
  try {
    const results = pack({ out: path.resolve(opt('--out') || path.join(root, 'out', 'packages')), artifacts: path.resolve(opt('--artifacts') || root) })
    if (args.includes('--json')) console.log(JSON.stringify(results, null, 2))
    else for (const line of describe(results)) console.log(line)
  } catch (e) {
    console.error(`pack: ${e.message}`)
    process.exit(1)
  }
}

module.exports = { pack, describe, abiOf }
