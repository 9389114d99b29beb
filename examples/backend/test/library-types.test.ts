/**
 * The library's generated index.d.ts against the published contract the backend codes against
 * (examples/schema/analyze-tenant-contract.d.ts): compile-time checks (tsc fails if they drift)
 * plus a runtime check that the built addon exports analyzeTenant.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type * as Real from '../../../index'
import { loadConfig } from '../src/config'
import { type AnalyzeTenant, loadAnalyzeTenant } from '../src/library'

// The real function accepts every call the backend makes and returns what the backend reads.
const realIsUsableAsContract = (f: typeof Real.analyzeTenant): AnalyzeTenant => f
void realIsUsableAsContract

test('the library exports analyzeTenant (QI_LIBRARY or the repository root)', () => {
  const config = loadConfig({ QI_LIBRARY: process.env.QI_LIBRARY })
  assert.equal(typeof loadAnalyzeTenant(config.libraryPath), 'function')
})
