// The package's entry point: loads the native addon through napi-rs' generated loader (index.js)
// and, when the addon comes from its platform package (question-insights-<platform>, an
// optional dependency), points the library at what that layout holds:
//   ORT_DYLIB_PATH            → the ONNX Runtime library bundled in the platform package,
//   QUESTION_INSIGHTS_MODELS  → this package's models/ (where `npx question-insights models` puts them).
// Both only when unset. The classifier head ships beside the addon, where the library looks.
// Without a usable addon it throws an Error naming the platform package to install.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { platformPackage, supportedPlatforms } = require('./scripts/platform')

const platform = platformPackage()
const localBuild = platform && fs.existsSync(path.join(__dirname, `question-insights.${platform.abi}.node`))

let binding
try {
  binding = require('./index.js')
} catch (err) {
  throw missingBinding(err)
}

if (platform && !localBuild) {
  const dir = packageDir(platform.name)
  if (dir) {
    for (const lib of platform.onnxruntime) {
      const file = path.join(dir, lib)
      if (!process.env.ORT_DYLIB_PATH && fs.existsSync(file)) process.env.ORT_DYLIB_PATH = file
    }
  }
  if (!process.env.QUESTION_INSIGHTS_MODELS) process.env.QUESTION_INSIGHTS_MODELS = path.join(__dirname, 'models')
}

module.exports = binding

function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [__dirname] }))
  } catch {
    return null
  }
}

function missingBinding(cause) {
  let message
  if (!platform) {
    message =
      `question-insights has no prebuilt binary for ${process.platform}-${process.arch}` +
      ` (prebuilt: ${supportedPlatforms().join(', ')}). Build it from a git checkout with cargo (npm run build).`
  } else if (!packageDir(platform.name)) {
    message =
      `question-insights cannot load its native binary: the package ${platform.name} is not installed. ` +
      `npm installs it as an optional dependency of question-insights; it is skipped by --omit=optional / --no-optional ` +
      `and when node_modules was installed on another platform. Run \`npm install ${platform.name}@${version()}\` ` +
      `(or reinstall without omitting optional dependencies).`
  } else {
    message = `question-insights cannot load its native binary from ${platform.name}: ${rootCause(cause)}`
  }
  const error = new Error(message)
  error.code = 'ERR_NATIVE_BINDING_MISSING'
  error.package = platform && platform.name
  error.cause = cause
  return error
}

/** The first error in napi's load-error chain that is not a plain "Cannot find module". */
function rootCause(err) {
  const messages = []
  for (let e = err && err.cause; e; e = e.cause) messages.push(String(e.message))
  return messages.find((m) => !/Cannot find module/.test(m)) || messages[0] || String(err && err.message)
}

function version() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'package.json'), 'utf8')).version
}
