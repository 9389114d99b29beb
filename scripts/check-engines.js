#!/usr/bin/env node
// Fails when a locked dependency of the library, the reference backend or the Insights page
// declares a Node range that does not cover the project's own (what makes `npm install` print
// EBADENGINE on a Node the project says it supports). Reads the package-lock.json files: fast,
// no install, and independent of the Node running it.
//   runtime dependencies  against package.json `engines.node`
//   dev dependencies      against `devEngines.runtime.version` when set (the build and test
//                         tools), else `engines.node`
// Every even (LTS) Node line inside the declared range is checked at its lowest allowed and a
// late version; odd lines are never LTS and are not supported by the ecosystem.
// Then, for the Node running it, `npm install --dry-run` of each project's package.json and lock
// in an empty folder (every package "added", so npm checks them all) must print no warning:
// no EBADENGINE, no unknown config, no install-script notice.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const semver = require('semver')

const root = path.resolve(__dirname, '..')
const PROJECTS = ['.', 'examples/backend', 'examples/insights']
const LTS_LINES = [18, 20, 22, 24, 26]

/** Versions standing for `range`: per LTS line, its lowest allowed version and x.99.0. */
function probes(range) {
  const out = []
  for (const major of LTS_LINES) {
    const line = `>=${major}.0.0 <${major + 1}.0.0`
    if (!semver.intersects(range, line)) continue
    const low = semver.minVersion(`${range} ${line}`.trim()) || semver.minVersion(line)
    for (const v of [low && low.version, `${major}.99.0`]) if (v && semver.satisfies(v, range) && !out.includes(v)) out.push(v)
  }
  return out
}

function checkProject(dir) {
  const pkgFile = path.join(root, dir, 'package.json')
  const lockFile = path.join(root, dir, 'package-lock.json')
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'))
  const problems = []
  const runtime = pkg.engines && pkg.engines.node
  if (!runtime) return [`${dir}/package.json declares no engines.node`]
  const dev = (pkg.devEngines && pkg.devEngines.runtime && pkg.devEngines.runtime.version) || runtime
  if (!semver.validRange(runtime) || !semver.validRange(dev)) return [`${dir}/package.json: engines are not valid semver ranges`]
  if (!fs.existsSync(lockFile)) return [`${dir}/package-lock.json is missing`]
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'))
  const runtimeProbes = probes(runtime)
  const devProbes = probes(dev)
  let checked = 0
  for (const [where, entry] of Object.entries(lock.packages || {})) {
    if (!where || entry.link) continue
    checked++
    const wanted = entry.engines && !Array.isArray(entry.engines) && entry.engines.node
    if (!wanted) continue
    const versions = entry.dev ? devProbes : runtimeProbes
    const bad = versions.filter((v) => !semver.satisfies(v, wanted, { includePrerelease: false }))
    if (bad.length)
      problems.push(
        `${dir}: ${where.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${wanted}; the project declares ${entry.dev ? `devEngines ${dev}` : `engines ${runtime}`} (fails on ${bad.join(', ')})`,
      )
  }
  console.log(`check-engines: ${dir}: ${checked} locked packages fit node ${runtime}${dev !== runtime ? ` (dev tools: ${dev})` : ''}${problems.length ? ' — except:' : ''}`)
  return problems
}

/** What `npm install` warns about for this project, as it would on a fresh clone. */
function npmWarnings(dir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-engines-'))
  try {
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) {
      if (fs.existsSync(path.join(root, dir, f))) fs.copyFileSync(path.join(root, dir, f), path.join(tmp, f))
    }
    const r = spawnSync('npm', ['install', '--dry-run', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tmp, encoding: 'utf8' })
    const output = `${r.stdout}${r.stderr}`
    const warnings = output.split('\n').filter((l) => /npm (warn|WARN)|EBADENGINE/.test(l))
    if (r.status !== 0) warnings.push(`npm install --dry-run exited with ${r.status}: ${output.trim().split('\n').slice(-3).join(' / ')}`)
    console.log(`check-engines: ${dir}: npm install (dry run, node ${process.versions.node}): ${warnings.length ? `${warnings.length} warning(s)` : 'no warnings'}`)
    return warnings.map((w) => `${dir}: ${w}`)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

const problems = [...PROJECTS.flatMap(checkProject), ...PROJECTS.flatMap(npmWarnings)]
for (const p of problems) console.error(`  ${p}`)
if (problems.length) {
  console.error('check-engines: pin a version that supports the declared Node range (npm overrides), or change the range')
  process.exit(1)
}
