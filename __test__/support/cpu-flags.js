'use strict'
// The CPU's feature flags from /proc/cpuinfo (Linux x86), or null where there is no such line.
// The int8 encoder's weight storage (embed.spec.js) and speed (bench/index.js) follow them.
const fs = require('node:fs')

/** The first `flags` line of /proc/cpuinfo as an array, or null when it cannot be read. */
function cpuFlags() {
  let text
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    return null
  }
  const line = text.match(/^flags\s*:(.*)$/m)
  return line ? line[1].trim().split(/\s+/) : null
}

module.exports = { cpuFlags }
