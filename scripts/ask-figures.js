'use strict'
// The three figures by which a month's result is judged, against messages whose role is known
// (`expectedRole`, as in data/sample-month.json): the share of reported questions that are asks,
// the share of asks found, and the share of the top clusters' members that are asks.
// Messages without a known role (context around labelled stretches) are left out of every share.
function askFigures(result, messages, top = 5) {
  const role = new Map(messages.filter((m) => m.expectedRole).map((m) => [String(m.id), m.expectedRole]))
  const known = (id) => role.has(id)
  const reported = result.questions
    .filter((q) => !q.notRequest)
    .flatMap((q) => q.messageIds)
    .filter(known)
  const reportedSet = new Set(reported)
  const asks = messages.filter((m) => m.expectedRole === 'ask').map((m) => String(m.id))
  const topMembers = result.clusters
    .slice(0, top)
    .flatMap((c) => c.messageIds)
    .filter(known)
  const share = (ids, pred) => (ids.length ? ids.filter(pred).length / ids.length : 0)
  return {
    reported: reported.length,
    reportedAreAsks: share(reported, (id) => role.get(id) === 'ask'),
    asks: asks.length,
    asksFound: share(asks, (id) => reportedSet.has(id)),
    topClusters: Math.min(top, result.clusters.length),
    topMembers: topMembers.length,
    topMembersAreAsks: share(topMembers, (id) => role.get(id) === 'ask'),
  }
}

module.exports = { askFigures }
