'use strict'
// analyzeTenant results → the questions.json export (examples/schema/questions.schema.json).

/** Rates as users read them: 4 decimals (0.05263157933950424 → 0.0526), no float noise. */
function round4(x) {
  return Math.round(x * 1e4) / 1e4
}

function toQuestionsJson(tenantId, analyses, now = new Date()) {
  const sorted = [...analyses].sort((a, b) => a.month.localeCompare(b.month))
  return {
    version: 1,
    tenantId,
    generatedAt: now.toISOString(),
    months: sorted.map((a) => a.month),
    analyses: Object.fromEntries(
      sorted.map((a) => [
        a.month,
        {
          month: a.month,
          analyzedAt: now.toISOString(),
          stats: { messages: a.stats.messages, questions: a.stats.questions, clusters: a.stats.clusters, unclustered: a.stats.unclustered, duplicates: a.stats.duplicates },
          clusters: a.clusters.map((c) => ({
            id: c.id,
            title: c.title ?? null,
            representative: c.representative,
            samples: c.samples,
            size: c.size,
            questionCount: c.memberQuestionIds.length,
            keywords: c.keywords,
            unansweredRate: round4(c.unansweredRate),
            messageIds: c.messageIds,
          })),
        },
      ]),
    ),
  }
}
module.exports = { toQuestionsJson, round4 }
