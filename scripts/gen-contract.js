#!/usr/bin/env node
// Writes examples/schema/analyze-tenant-contract.d.ts from the generated index.d.ts: the
// declaration of analyzeTenant and of every type it reaches, copied as they are, so the contract
// the reference backend codes against cannot drift from the library's typings.
//   node scripts/gen-contract.js           write it
//   node scripts/gen-contract.js --check   exit 1 when the committed file differs
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const source = path.join(root, 'index.d.ts')
const target = path.join(root, 'examples', 'schema', 'analyze-tenant-contract.d.ts')
const ENTRY = 'analyzeTenant'

/** Top-level declarations of a napi-rs generated .d.ts: name → text (with its doc comment). */
function declarations(text) {
  const lines = text.split('\n')
  const out = new Map()
  let doc = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.startsWith('/**')) {
      doc = [line]
      while (!lines[i].includes('*/')) doc.push(lines[++i])
      continue
    }
    const m = /^export (?:declare )?(?:interface|function|const|type|enum|declare enum) (\w+)/.exec(line)
    if (!m) {
      if (line.trim() === '') doc = []
      continue
    }
    const body = [...doc, line]
    if (/^export (interface|declare enum|enum)\b/.test(line) || (line.endsWith('{') && !line.includes('}'))) {
      while (lines[i] !== '}') body.push(lines[++i])
    }
    out.set(m[1], body.join('\n'))
    doc = []
  }
  return out
}

function contract(text) {
  const decls = declarations(text)
  if (!decls.has(ENTRY)) throw new Error(`gen-contract: index.d.ts declares no ${ENTRY}`)
  const wanted = new Set()
  const visit = (name) => {
    if (wanted.has(name)) return
    wanted.add(name)
    const body = decls.get(name).replace(/\/\*\*[\s\S]*?\*\//g, '')
    for (const word of body.match(/\b[A-Z]\w*\b/g) || []) if (decls.has(word) && word !== name) visit(word)
  }
  visit(ENTRY)
  const names = [...decls.keys()].filter((n) => wanted.has(n))
  return [
    '// The contract of question-insights\' analyzeTenant() that the reference backend codes against.',
    '// Generated from index.d.ts by scripts/gen-contract.js (run by `npm run build` and checked by',
    '// `npm run lint`); do not edit by hand.',
    '',
    ...names.map((n) => decls.get(n) + '\n'),
  ].join('\n')
}

if (require.main === module) {
  const want = contract(fs.readFileSync(source, 'utf8'))
  if (process.argv.includes('--check')) {
    const have = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : ''
    if (have !== want) {
      console.error(`gen-contract: ${path.relative(root, target)} differs from index.d.ts; run node scripts/gen-contract.js`)
      process.exit(1)
    }
    console.log(`gen-contract: ${path.relative(root, target)} matches index.d.ts`)
  } else {
    fs.writeFileSync(target, want)
    console.log(`gen-contract: wrote ${path.relative(root, target)}`)
  }
}

module.exports = { contract, declarations }
