'use strict'
// Shared helpers for the Jest suite: the built addon and small vector utilities.
// Errors come from the addon's realm, not Jest's sandbox, so tests match on `name`/`code`
// rather than with instanceof (toThrow(TypeError) would compare constructors of two realms).
const qi = require('..')

function dot(a, b) {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

function norm(a) {
  return Math.sqrt(dot(a, a))
}

module.exports = { qi, dot, norm }
