'use strict'
// The platform packages of question-insights (napi-rs layout: npm/<abi>/, published as
// question-insights-<abi>) and what each bundles. Used by the package's entry point (main.js),
// by `question-insights models` and by scripts/pack.js.

/** abi → the ONNX Runtime files the platform package carries (from onnxruntime-node's bin/napi-v6/<os>/<arch>/). */
const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', arch: 'x64', onnxruntime: ['libonnxruntime.so.1'] },
  'linux-arm64-gnu': { os: 'linux', arch: 'arm64', onnxruntime: ['libonnxruntime.so.1'] },
  // onnxruntime-node ships no musl build: on Alpine set ORT_DYLIB_PATH to a musl libonnxruntime 1.30.
  'linux-x64-musl': { os: 'linux', arch: 'x64', musl: true, onnxruntime: [] },
  'darwin-arm64': { os: 'darwin', arch: 'arm64', onnxruntime: ['libonnxruntime.1.30.0.dylib'] },
  // onnxruntime.dll is onnxruntime-node's DirectML build, which loads DirectML.dll beside it.
  'win32-x64-msvc': { os: 'win32', arch: 'x64', onnxruntime: ['onnxruntime.dll', 'DirectML.dll'] },
}

function isMusl() {
  if (process.platform !== 'linux') return false
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return !(report && report.header && report.header.glibcVersionRuntime)
}

/** The platform package for this process, or null when none is published for it. */
function platformPackage(platform = process.platform, arch = process.arch, musl = platform === 'linux' && isMusl()) {
  for (const [abi, p] of Object.entries(PLATFORMS)) {
    if (p.os === platform && p.arch === arch && !!p.musl === !!musl) return { abi, name: `question-insights-${abi}`, ...p }
  }
  return null
}

function supportedPlatforms() {
  return Object.keys(PLATFORMS)
}

module.exports = { PLATFORMS, platformPackage, supportedPlatforms }
