'use strict'
// analyzeTenant results → the questions.json export (examples/schema/questions.schema.json).
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
            unansweredRate: c.unansweredRate,
            messageIds: c.messageIds,
          })),
        },
      ]),
    ),
  }
}
module.exports = { toQuestionsJson }
