/**
 * The library's generated index.d.ts against the published contract the backend codes against
 * (examples/schema/analyze-tenant-contract.d.ts): compile-time checks (tsc fails if they drift)
 * plus runtime checks that the built addon exports analyzeTenant and that its result has the
 * contract's shape.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type * as Real from '../../../index'
import type * as Contract from '../../schema/analyze-tenant-contract'
import { loadConfig } from '../src/config'
import { type AnalyzeTenant, loadAnalyzeTenant } from '../src/library'
import { tenantMessages } from './support/fixtures'

// The real function accepts every call the backend makes and returns what the backend reads.
const realIsUsableAsContract = (f: typeof Real.analyzeTenant): AnalyzeTenant => f
void realIsUsableAsContract

// The contract's result and progress are index.d.ts's (each assignable to the other): a field
// added, removed or retyped on either side fails the build.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const contractIsIndexDts: [
  Same<Contract.TenantAnalysis, Real.TenantAnalysis>,
  Same<Contract.TenantCluster, Real.TenantCluster>,
  Same<Contract.TenantQuestion, Real.TenantQuestion>,
  Same<Contract.TenantStats, Real.TenantStats>,
  Same<Contract.AnalyzeProgress, Real.AnalyzeProgress>,
  Same<NonNullable<Contract.AnalyzeOptions['questions']>, NonNullable<Real.AnalyzeOptions['questions']>>,
] = [true, true, true, true, true, true]
void contractIsIndexDts

test('the library exports analyzeTenant (QI_LIBRARY or the repository root)', () => {
  const config = loadConfig({ QI_LIBRARY: process.env.QI_LIBRARY })
  assert.equal(typeof loadAnalyzeTenant(config.libraryPath), 'function')
})

test('the library\'s result has the contract\'s shape (asks, askers, answers, minor clusters)', async () => {
  const analyzeTenant = loadAnalyzeTenant(loadConfig({ QI_LIBRARY: process.env.QI_LIBRARY }).libraryPath)
  const month = '2025-03'
  const messages = tenantMessages('t', month).map((m) => ({
    id: m.id,
    channelId: m.channel_id,
    authorId: m.author_id,
    content: m.content,
    timestamp: new Date(m.created_at as Date).toISOString(),
    ...(m.reply_to_id ? { replyToId: m.reply_to_id } : {}),
    ...(m.thread_id ? { threadId: m.thread_id } : {}),
    ...(m.author_is_bot ? { authorIsBot: true } : {}),
  }))
  const pages = [messages.slice(0, 150), messages.slice(150)]
  let next = 0
  const a = await analyzeTenant({ tenantId: 't', month, messages: async () => pages[next++] ?? null })

  for (const k of ['asks', 'conversations', 'answered', 'resolved', 'notRequests', 'minorClusters'] as const) {
    assert.ok(Number.isInteger(a.stats[k]), `stats.${k}`)
  }
  assert.deepEqual(Object.keys(a.stats.roles ?? {}).sort(), ['ask', 'backchannel', 'clarification', 'other'])
  assert.ok(Array.isArray(a.minorClusters))
  const minor = a.minorClusters ?? []
  const fourDecimals = (x: number) => Math.round(x * 1e4) / 1e4 === x
  for (const [list, isMinor] of [[a.clusters, false], [minor, true]] as const) {
    for (const c of list) {
      assert.ok(Number.isInteger(c.askers) && c.askers! >= 1, `cluster ${c.id} askers`)
      assert.equal(c.askers! < 2, isMinor, `cluster ${c.id}: minor exactly when fewer than minAskers (2) askers`)
      assert.ok(c.resolvedRate! >= 0 && c.resolvedRate! <= 1 && fourDecimals(c.resolvedRate!) && fourDecimals(c.unansweredRate))
      if (c.bestAnswer) assert.deepEqual(Object.keys(c.bestAnswer).sort(), ['acknowledged', 'authorId', 'channelId', 'messageId', 'questionId'])
    }
  }
  for (let i = 1; i < a.clusters.length; i++) {
    const [p, c] = [a.clusters[i - 1]!, a.clusters[i]!]
    assert.ok(p.askers! > c.askers! || (p.askers === c.askers && p.size >= c.size), 'ranked by askers, then size')
  }
  // What the repository relies on: cluster ids unique across both lists, questions point at them by id.
  const ids = [...a.clusters, ...minor].map((c) => c.id)
  assert.equal(new Set(ids).size, ids.length)
  for (const q of a.questions) {
    assert.equal(typeof q.conversationId, 'string')
    if (q.clusterId != null) assert.ok(ids.includes(q.clusterId), `question ${q.id} points at cluster ${q.clusterId}`)
  }
})
