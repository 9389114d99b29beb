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
  const isAsk = (id) => role.get(id) === 'ask'
  const reportedAsks = reported.filter(isAsk).length
  const asksFound = asks.filter((id) => reportedSet.has(id)).length
  const topMemberAsks = topMembers.filter(isAsk).length
  const share = (n, of) => (of ? n / of : 0)
  return {
    reported: reported.length,
    reportedAsks,
    reportedAreAsks: share(reportedAsks, reported.length),
    asks: asks.length,
    asksFoundCount: asksFound,
    asksFound: share(asksFound, asks.length),
    topClusters: Math.min(top, result.clusters.length),
    topMembers: topMembers.length,
    topMemberAsks,
    topMembersAreAsks: share(topMemberAsks, topMembers.length),
  }
}

module.exports = { askFigures }
