#!/usr/bin/env node
// Fails when the committed index.d.ts / index.js differ from what `napi build` generated, so
// the published typings never drift from the Rust signatures, and when the backend's contract
// (examples/schema/analyze-tenant-contract.d.ts) differs from what index.d.ts generates.
'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root }).status === 0
if (!inGit) {
  console.log('check-generated: not a git checkout, skipped')
  process.exit(0)
}
const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'index.d.ts', 'index.js'], { cwd: root })
if (tracked.status !== 0) {
  console.error('check-generated: index.d.ts and index.js must be committed')
  process.exit(1)
}
const diff = spawnSync('git', ['diff', '--stat', '--exit-code', '--', 'index.d.ts', 'index.js'], { cwd: root, encoding: 'utf8' })
if (diff.status !== 0) {
  console.error('check-generated: index.d.ts/index.js differ from the committed files; commit the generated ones:\n' + diff.stdout)
  process.exit(1)
}
const fs = require('node:fs')
const { contract } = require('./gen-contract')
const contractFile = path.join(root, 'examples', 'schema', 'analyze-tenant-contract.d.ts')
if (fs.readFileSync(contractFile, 'utf8') !== contract(fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8'))) {
  console.error('check-generated: examples/schema/analyze-tenant-contract.d.ts differs from index.d.ts; run node scripts/gen-contract.js')
  process.exit(1)
}
console.log('check-generated: index.d.ts and index.js match the build, and the contract matches index.d.ts')
