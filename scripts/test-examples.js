#!/usr/bin/env node
// Installs (when needed) and tests the example applications under examples/: the reference
// backend (real PostgreSQL and Redis) and the Insights page (Vitest + Chromium end to end).
//   node scripts/test-examples.js [backend] [insights]
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const EXAMPLES = ['insights', 'backend']
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : EXAMPLES

function run(cwd, args) {
  const r = spawnSync('npm', args, { cwd, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`test-examples: npm ${args.join(' ')} failed in ${path.relative(root, cwd)} (exit ${r.status})`)
    process.exit(r.status || 1)
  }
}

const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0)
for (const name of wanted) {
  const dir = path.join(root, 'examples', name)
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    console.error(`test-examples: examples/${name} has no package.json`)
    process.exit(1)
  }
  const installed = path.join(dir, 'node_modules', '.package-lock.json')
  if (mtime(installed) < mtime(path.join(dir, 'package-lock.json'))) {
    console.log(`test-examples: installing examples/${name}`)
    run(dir, ['ci', '--no-audit', '--no-fund'])
  }
  console.log(`test-examples: testing examples/${name}`)
  run(dir, ['test'])
}
