#!/usr/bin/env node
// Brings a checkout to a runnable state, doing only what is missing: installs npm packages,
// builds the native addon when the Rust sources changed, and fetches the models.
// `npm run demo`, `npm test` and `npm run bench` start with it, so a fresh clone needs nothing else.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const quiet = process.argv.includes('--quiet')

function step(msg) {
  if (!quiet) console.log(`setup: ${msg}`)
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (r.status !== 0) {
    console.error(`setup: ${cmd} ${args.join(' ')} failed (exit ${r.status})`)
    process.exit(r.status || 1)
  }
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs
  } catch {
    return 0
  }
}

function newestUnder(dir, exts) {
  let newest = 0
  if (!fs.existsSync(dir)) return 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(p, exts))
    else if (exts.some((e) => entry.name.endsWith(e))) newest = Math.max(newest, mtime(p))
  }
  return newest
}

// 1. npm packages
const installed = path.join(root, 'node_modules', '.package-lock.json')
const lock = path.join(root, 'package-lock.json')
if (!fs.existsSync(installed) || mtime(lock) > mtime(installed) || mtime(path.join(root, 'package.json')) > mtime(installed)) {
  step('installing npm packages')
  run('npm', fs.existsSync(lock) && fs.existsSync(installed) === false ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'])
}

// 2. the native addon
const addon = fs.readdirSync(root).find((f) => /^question-insights\..*\.node$/.test(f))
const sources = Math.max(
  newestUnder(path.join(root, 'src'), ['.rs']),
  mtime(path.join(root, 'Cargo.toml')),
  mtime(path.join(root, 'Cargo.lock')),
  mtime(path.join(root, 'build.rs')),
  mtime(path.join(root, 'models', 'manifest.json')),
)
if (!addon || mtime(path.join(root, addon)) < sources) {
  step('building the native addon (cargo, release)')
  run('npx', ['napi', 'build', '--platform', '--release'])
  run(process.execPath, [path.join(root, 'scripts', 'gen-contract.js')])
}

// 3. models
run(process.execPath, [path.join(root, 'scripts', 'fetch-models.js')])
