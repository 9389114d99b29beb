// The napi-rs package layout: napi.targets, the platform packages under npm/, the loader's
// platform table (scripts/platform.js) and the CI build matrix name the same platforms, and
// the platform packages are version-locked to the main package.
const fs = require('node:fs')
const path = require('node:path')
const { PLATFORMS, platformPackage } = require('../scripts/platform')
const { abiOf } = require('../scripts/pack')

const root = path.resolve(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const abis = pkg.napi.targets.map(abiOf)

test('napi.targets, npm/<abi>/ and scripts/platform.js agree', () => {
  expect(abis.sort()).toEqual(['darwin-arm64', 'linux-arm64-gnu', 'linux-x64-gnu', 'linux-x64-musl', 'win32-x64-msvc'])
  expect(Object.keys(PLATFORMS).sort()).toEqual(abis)
  expect(fs.readdirSync(path.join(root, 'npm')).sort()).toEqual(abis)
})

test.each(Object.entries(PLATFORMS))('npm/%s/package.json is the platform package', (abi, p) => {
  const sub = JSON.parse(fs.readFileSync(path.join(root, 'npm', abi, 'package.json'), 'utf8'))
  expect(sub.name).toBe(`question-insights-${abi}`)
  expect(sub.version).toBe(pkg.version)
  expect(sub.main).toBe(`question-insights.${abi}.node`)
  expect(sub.os).toEqual([p.os])
  expect(sub.cpu).toEqual([p.arch])
  if (p.os === 'linux') expect(sub.libc).toEqual([p.musl ? 'musl' : 'glibc'])
  expect(sub.engines).toEqual(pkg.engines)
  expect(sub.files).toEqual(expect.arrayContaining([sub.main, ...p.onnxruntime, 'models/classifier/question-head.json']))
  if (p.onnxruntime.length) expect(fs.existsSync(path.join(root, 'npm', abi, 'LICENSE-onnxruntime'))).toBe(true)
})

test('the CI workflow builds every target', () => {
  const yml = fs.readFileSync(path.join(root, '.github', 'workflows', 'ci.yml'), 'utf8')
  const targets = [...yml.matchAll(/^\s*- target: (\S+)\s*$/gm)].map((m) => m[1])
  expect(targets.sort()).toEqual([...pkg.napi.targets].sort())
  const matrixAbis = [...yml.matchAll(/^\s*abi: (\S+)\s*$/gm)].map((m) => m[1])
  expect(matrixAbis.sort()).toEqual(abis)
})

test('the published package has no runtime dependency (ONNX Runtime ships in the platform package)', () => {
  expect(pkg.dependencies).toBeUndefined()
  expect(pkg.main).toBe('main.js')
  expect(pkg.files).toEqual(expect.arrayContaining(['main.js', 'index.js', 'index.d.ts', 'scripts/platform.js', 'scripts/fetch-models.js', 'bin/question-insights.js', 'models/manifest.json']))
})

test('this machine maps to its platform package', () => {
  const p = platformPackage('linux', 'x64', false)
  expect(p).toMatchObject({ abi: 'linux-x64-gnu', name: 'question-insights-linux-x64-gnu', onnxruntime: ['libonnxruntime.so.1'] })
  expect(platformPackage('linux', 'x64', true).abi).toBe('linux-x64-musl')
  expect(platformPackage('darwin', 'arm64').abi).toBe('darwin-arm64')
  expect(platformPackage('win32', 'x64').abi).toBe('win32-x64-msvc')
  expect(platformPackage('freebsd', 'x64')).toBeNull()
})
