'use strict'
// analyzeTenant results → questions.json, format version 2 (examples/schema/questions.schema.json).
//
// The one builder of questions.json: scripts/demo.js passes analyzeTenant results, the reference
// backend (examples/backend/src/export.ts) passes its stored rows in the same shape. Results of a
// library from before asks (no askers, resolvedRate, bestAnswer, minorClusters, role counts) and
// rows stored before the backend's 0003 migration give null for what they lack: the Insights
// page shows it as unknown.

const FORMAT_VERSION = 2

/** Rates as users read them: 4 decimals (0.05263157933950424 → 0.0526), no float noise. */
function round4(x) {
  return Math.round(x * 1e4) / 1e4
}

const count = (v) => (typeof v === 'number' ? v : null)
const rate = (v) => (typeof v === 'number' ? round4(v) : null)

/** Ranked by people, not by messages: distinct askers (unknown last), then size, then id. */
function byRank(a, b) {
  const aa = typeof a.askers === 'number' ? a.askers : -1
  const ba = typeof b.askers === 'number' ? b.askers : -1
  return ba - aa || b.size - a.size || a.id - b.id
}

/**
 * The answer to show for a cluster, as a link-ready id triple: a Discord message link is
 * https://discord.com/channels/{guildId}/{channelId}/{messageId}; the tenant is the guild.
 */
function bestAnswer(tenantId, b) {
  if (!b) return null
  return {
    guildId: tenantId,
    channelId: b.channelId,
    messageId: b.messageId,
    questionId: b.questionId,
    authorId: b.authorId,
    acknowledged: b.acknowledged === true,
  }
}

function cluster(tenantId, c) {
  return {
    id: c.id,
    title: c.title ?? null,
    representative: c.representative,
    samples: c.samples,
    size: c.size,
    questionCount: typeof c.questionCount === 'number' ? c.questionCount : c.memberQuestionIds.length,
    keywords: c.keywords,
    askers: count(c.askers),
    unansweredRate: round4(c.unansweredRate),
    resolvedRate: rate(c.resolvedRate),
    bestAnswer: bestAnswer(tenantId, c.bestAnswer),
    messageIds: c.messageIds,
  }
}

function stats(s, clusters) {
  const r = s.roles
  return {
    messages: s.messages,
    questions: s.questions,
    clusters: count(s.clusters) ?? clusters.length,
    unclustered: s.unclustered,
    duplicates: s.duplicates,
    asks: count(s.asks),
    conversations: count(s.conversations),
    answered: count(s.answered),
    resolved: count(s.resolved),
    notRequests: count(s.notRequests),
    minorClusters: count(s.minorClusters),
    roles: r ? { ask: r.ask, clarification: r.clarification, backchannel: r.backchannel, other: r.other } : null,
  }
}

/**
 * questions.json of a tenant. `analyses`: analyzeTenant results (or rows in their shape), one per
 * month; `analyzedAt` of each defaults to `now`. Clusters of a month come ranked by distinct
 * askers, then size; `minorClusters` (fewer than minAskers askers) are listed apart.
 */
function toQuestionsJson(tenantId, analyses, now = new Date()) {
  const sorted = [...analyses].sort((a, b) => a.month.localeCompare(b.month))
  return {
    version: FORMAT_VERSION,
    tenantId,
    generatedAt: now.toISOString(),
    months: sorted.map((a) => a.month),
    analyses: Object.fromEntries(
      sorted.map((a) => {
        const analyzedAt = a.analyzedAt === undefined ? now : new Date(a.analyzedAt)
        const clusters = a.clusters.map((c) => cluster(tenantId, c)).sort(byRank)
        const minor = a.minorClusters ? a.minorClusters.map((c) => cluster(tenantId, c)).sort(byRank) : []
        return [
          a.month,
          {
            month: a.month,
            analyzedAt: analyzedAt.toISOString(),
            stats: stats(a.stats, clusters),
            clusters,
            minorClusters: minor,
          },
        ]
      }),
    ),
  }
}

module.exports = { toQuestionsJson, round4, FORMAT_VERSION }
