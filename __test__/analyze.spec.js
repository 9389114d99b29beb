'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { qi } = require('./helpers')
const { startFakeOpenAI, questionsIn } = require('./support/fake-openai')
const sample = require('../data/sample-month.json')
const { askFigures } = require('../scripts/ask-figures')

const base = { tenantId: 'sample', month: sample.month }
const summary = (r) => ({
  questions: r.questions.map((q) => [q.id, [...q.messageIds].sort()]).sort(),
  clusters: [...r.clusters, ...r.minorClusters].map((c) => [c.askers, c.size, [...c.memberQuestionIds].sort()]),
})

describe('analyzeTenant', () => {
  let result
  beforeAll(async () => {
    result = await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: '' } } })
  })

  test('classifies, finds the asks among the questions, extracts (offline: originals), dedupes and clusters a month', () => {
    const s = result.stats
    expect(s.messages).toBe(sample.messages.length)
    expect(s.rejected).toEqual([])
    expect(s.questions).toBeGreaterThan(40)
    expect(s.warnings.join(' ')).toMatch(/OPENROUTER_API_KEY/)
    expect(result.classifications.every((c) => c.isQuestion && c.confidence >= 0.7)).toBe(true)
    expect(result.classifications).toHaveLength(s.questions)
    expect(s.conversations).toBeGreaterThan(0)
    expect(s.conversations).toBeLessThan(s.analyzed)
    // the sample month's helpers ask back and people say "huh?": not everything with a '?' is an ask
    expect(s.roles.clarification + s.roles.backchannel + s.roles.other).toBeGreaterThan(0)
    expect(s.asks).toBeLessThan(s.questions)
    // the month's bots (an auto-responder in #help, a GitHub feed, a welcome bot) ask and answer nothing
    const bots = new Set(sample.messages.filter((m) => m.authorIsBot).map((m) => m.id))
    expect(s.botMessages).toBe(bots.size)
    expect(bots.size).toBeGreaterThan(20)
    expect(result.questions.flatMap((q) => [...q.messageIds, q.answer?.messageId]).filter((id) => bots.has(id))).toEqual([])
    // the sample month knows each message's role: what is reported is what members asked
    const f = askFigures(result, sample.messages)
    // the three figures, at its targets
    expect(f.reportedAreAsks).toBeGreaterThanOrEqual(0.85)
    expect(f.asksFound).toBeGreaterThanOrEqual(0.75)
    expect(f.topMembersAreAsks).toBeGreaterThanOrEqual(0.85)
    // every ask is accounted for exactly once: questions carry their duplicates
    const ids = result.questions.flatMap((q) => q.messageIds)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBe(s.asks + s.notRequests)
    expect(s.duplicates).toBe(s.asks - result.questions.filter((q) => !q.notRequest).length)
    for (const q of result.questions) {
      expect(q.role).toBe('ask')
      expect(q.source).toBe('original')
      expect(q.extracted).toBe(q.original)
      expect(q.timestamp).toMatch(/^2026-10-\d\dT.*Z$/)
    }
  })

  test('clusters: ranked by distinct askers, consistent with the questions, with keywords, unanswered and resolved rates', () => {
    const authorOf = new Map(sample.messages.map((m) => [m.id, m.authorId]))
    const byId = new Map(result.questions.map((q) => [q.id, q]))
    const all = [...result.clusters, ...result.minorClusters]
    const rank = result.clusters.map((c) => [c.askers, c.size])
    expect([...rank].sort((x, y) => y[0] - x[0] || y[1] - x[1])).toEqual(rank)
    expect(result.clusters.length).toBe(result.stats.clusters)
    expect(result.minorClusters.length).toBe(result.stats.minorClusters)
    all.forEach((c, i) => {
      expect(c.id).toBe(i)
      expect(c.keywords.length).toBeGreaterThan(0)
      expect(c.title).toBeUndefined() // no LLM configured
      expect(c.representativeQuestionId).toBe(c.memberQuestionIds[0])
      for (const id of c.memberQuestionIds) expect(byId.get(id).clusterId).toBe(c.id)
      expect(c.size).toBe(c.messageIds.length)
      expect(c.askers).toBe(new Set(c.messageIds.map((id) => authorOf.get(id))).size)
      expect(c.askers >= 2).toBe(result.clusters.includes(c))
      expect(c.unansweredRate).toBeCloseTo((c.size - c.answered) / c.size, 4)
      expect(c.resolvedRate).toBeCloseTo(c.resolved / c.size, 4)
      for (const r of [c.unansweredRate, c.resolvedRate, c.cohesion]) expect(Math.round(r * 1e4) / 1e4).toBe(r)
      if (c.bestAnswer) {
        const q = byId.get(c.bestAnswer.questionId)
        expect(c.memberQuestionIds).toContain(q.id)
        expect(q.answer.messageId).toBe(c.bestAnswer.messageId)
      }
    })
    expect(result.questions.filter((q) => q.clusterId === null && !q.notRequest)).toHaveLength(result.stats.unclustered)
    // the sample's sign-in asks (a password reset, a login loop, a login lost with a changed email)
    // make one top cluster
    // (a password reset asked again in another member's opening turn is its own question: its
    // context makes its text differ from the others')
    const account = result.questions.filter((q) => /reset my password|redirecting me back to the sign-in|log in after changing my email/i.test(q.original))
    expect(account.length).toBeGreaterThanOrEqual(3)
    expect(new Set(account.map((q) => q.original.match(/reset my password|sign-in|changing my email/i)[0].toLowerCase())).size).toBe(3)
    expect(new Set(account.map((q) => q.clusterId)).size).toBe(1)
    expect(result.clusters.findIndex((c) => c.id === account[0].clusterId)).toBeGreaterThanOrEqual(0)
    expect(result.clusters.findIndex((c) => c.id === account[0].clusterId)).toBeLessThan(3)
    // and the billing asks (cancelling, paying annually) are a topic of their own, not merged into
    // it (they were while the centroid cap was 1.2)
    const billing = result.questions.filter((q) => /cancel my subscription|pay annually/i.test(q.original))
    expect(billing.length).toBeGreaterThanOrEqual(3)
    expect(new Set(billing.map((q) => q.clusterId)).size).toBe(1)
    expect(billing[0].clusterId).not.toBeNull()
    expect(billing[0].clusterId).not.toBe(account[0].clusterId)
    // the helpers' questions back are not what members asked
    const top = result.clusters.slice(0, 5).map((c) => c.representative)
    for (const t of top) expect(t).not.toMatch(/^(what OS are you on|what version are you running|can you paste the full error|huh|what are you all working on)/i)
    expect(result.clusters.filter((c) => c.bestAnswer).length).toBeGreaterThan(0)
    expect(result.clusters.some((c) => c.resolvedRate > 0)).toBe(true)
  })

  const at = Date.parse('2026-10-05T12:00:00Z')
  const msg = (id, authorId, dt, content, extra = {}) => ({ id, authorId, channelId: 'help', content, timestamp: at + dt, ...extra })

  test('roles in a conversation: an ask without a question mark, a clarification, back-channel, code with a question mark', async () => {
    const messages = [
      msg('ask', 'alice', 0, "I'm getting ECONNREFUSED when my bot connects to the gateway after the update"),
      msg('clar', 'bob', 40_000, 'what OS are you on?', { replyToId: 'ask' }),
      msg('detail', 'alice', 70_000, 'ubuntu 22.04 on a small vps', { replyToId: 'clar' }),
      msg('huh', 'carol', 80_000, 'huh?'),
      msg('code', 'dave', 3 * 3600_000, '```js\nconst token = opts.token ? opts.token : process.env.TOKEN\nclient.login(token)\n```'),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' }, includeAllClassifications: true } })
    expect(r.questions.map((q) => q.id)).toEqual(['ask'])
    expect(r.questions[0]).toMatchObject({ role: 'ask', answered: true })
    expect(r.stats.roles.ask).toBe(1)
    expect(r.stats.roles.clarification).toBeGreaterThanOrEqual(1)
    const all = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' }, questions: 'all' } })
    const roles = Object.fromEntries(all.questions.map((q) => [q.id, q.role]))
    expect(roles.ask).toBe('ask')
    expect(roles.clar).toBe('clarification')
    if ('huh' in roles) expect(['backchannel', 'other']).toContain(roles.huh)
    if ('code' in roles) expect(roles.code).toBe('other')
    expect(all.questions.find((q) => q.id === 'clar').conversationId).toBe('ask')
  })

  test('answered, unanswered and resolved conversations, with the link to the answer; reply links and threads', async () => {
    const messages = [
      msg('a1', 'alice', 0, 'how do I open the gateway port on my firewall?'),
      msg('a1-ans', 'bob', 60_000, 'allow outbound 443 in ufw with sudo ufw allow out 443/tcp and reload it', { replyToId: 'a1' }),
      msg('a1-ack', 'alice', 120_000, 'thanks, that worked!', { replyToId: 'a1-ans' }),
      msg('e1', 'erin', 2 * 3600_000, 'how do I export my data as csv?'),
      msg('t0', 'frank', 5 * 3600_000, 'how do I rotate my api token?'),
      msg('t1', 'gina', 5 * 3600_000 + 30 * 60_000, 'Settings, then Tokens, then Rotate: the old one stops working at once', { threadId: 't0' }),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const q = Object.fromEntries(r.questions.map((x) => [x.id, x]))
    expect(q.a1).toMatchObject({ answered: true, resolved: true, answer: { messageId: 'a1-ans', channelId: 'help', authorId: 'bob', acknowledged: true } })
    expect(q.e1).toMatchObject({ answered: false, resolved: false, answer: null })
    expect(q.t0).toMatchObject({ answered: true, resolved: false, answer: { messageId: 't1', acknowledged: false } })
    expect(r.stats).toMatchObject({ asks: 3, answered: 2, resolved: 1 })
  })

  test("a bot's message is no member's ask and no answer: an auto-reply leaves the ask unanswered, a feed post asks nothing", async () => {
    const bot = { authorIsBot: true }
    const asks = ['how do I configure the proxy for the cli?', 'is there a way to set the cli proxy with an env var?', 'why does the cli ignore my proxy settings?']
    const messages = asks.flatMap((text, k) => [
      msg(`q${k}`, `member${k}`, k * 3 * 3600_000, text),
      msg(`auto${k}`, 'helper-bot', k * 3 * 3600_000 + 5_000, 'Thanks for your question! A helper will be with you soon. Meanwhile, have you read the FAQ at https://example.com/faq?', { ...bot, replyToId: `q${k}` }),
    ])
    messages.push(
      msg('feed1', 'github', 10 * 3600_000, '[acme/cli] Issue opened #41: How do I configure the proxy for the cli behind a firewall?', bot),
      msg('feed2', 'github', 11 * 3600_000, '[acme/cli] Issue opened #42: Why does the cli ignore the proxy env var?', bot),
    )
    const run = (list) => qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: list, options: { llm: { apiKey: '' } } })
    const r = await run(messages)
    expect(r.stats).toMatchObject({ analyzed: 8, botMessages: 5, asks: 3, answered: 0 })
    expect(r.questions.map((q) => q.id).sort()).toEqual(['q0', 'q1', 'q2'])
    expect(r.questions.every((q) => !q.answered && q.answer === null)).toBe(true)
    const [top] = r.clusters
    expect(top).toMatchObject({ askers: 3, unansweredRate: 1, bestAnswer: null })
    // without the flag the same messages read as a member's asks and answers
    const unflagged = await run(messages.map(({ authorIsBot, ...m }) => m))
    expect(unflagged.stats.botMessages).toBe(0)
    expect(unflagged.questions.map((q) => q.authorId)).toContain('github')
    expect(unflagged.stats.answered).toBeGreaterThan(0)
  })

  test('the answer linked is the reply the asker thanked, or one said to the asker: never chatter or a reply to someone else', async () => {
    const inThread = (root) => ({ threadId: root })
    const messages = [
      msg('ask', 'alice', 0, 'how do I back up a whole partition to an image file?'),
      msg('ans', 'bob', 40_000, 'partimage', { ...inThread('ask'), replyToId: 'ask' }),
      msg('chatter', 'eve', 50_000, 'lol same', inThread('ask')),
      msg('ack', 'alice', 60_000, 'thanks!', inThread('ask')),
      msg('ask2', 'frank', 4 * 3600_000, 'how do I connect securely to my ftp server from ubuntu?'),
      msg('dave', 'dave', 4 * 3600_000 + 10_000, 'my uploads to it stall at 99 percent with filezilla', inThread('ask2')),
      msg('aside', 'gina', 4 * 3600_000 + 20_000, 'that is a known bug of the old client, upgrade filezilla to the latest release', { ...inThread('ask2'), replyToId: 'dave' }),
      msg('ans2', 'hal', 4 * 3600_000 + 40_000, 'install gftp-gtk, it speaks sftp out of the box', { ...inThread('ask2'), replyToId: 'ask2' }),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const q = Object.fromEntries(r.questions.map((x) => [x.id, x]))
    expect(q.ask).toMatchObject({ answered: true, resolved: true, answer: { messageId: 'ans', authorId: 'bob', acknowledged: true } })
    expect(q.ask2).toMatchObject({ answered: true, resolved: false, answer: { messageId: 'ans2', authorId: 'hal', acknowledged: false } })
  })

  test('a late answer said to the asker, hours later, answers the ask', async () => {
    const messages = [
      msg('late-ask', 'ann', 0, 'is there a way to mark all messages in a room as read?'),
      msg('other', 'cat', 3 * 3600_000, 'how do I shrink the overlay2 folder on my server?'),
      msg('late-ans', 'bob', 5 * 3600_000, 'ann: type / and pick the mark-all command at the bottom of the list'),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const q = Object.fromEntries(r.questions.map((x) => [x.id, x]))
    expect(q['late-ask']).toMatchObject({ answered: true, answer: { messageId: 'late-ans', authorId: 'bob' } })
    expect(q.other).toMatchObject({ answered: false, answer: null })
    const c = await qi.conversations(messages, { maxReplyGapMs: 0 })
    expect(c.messages.find((m) => m.id === 'late-ans').link).toBe('start')
    await expect(qi.conversations(messages, { maxReplyGapMs: -1 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.maxReplyGapMs' })
  })

  test('an answer said to the asker half an hour later, after they added a detail, answers the ask', async () => {
    const messages = [
      msg('alpha', 'ann', 0, 'Is there a special reason why there is no alpha channel allowed in upload avatars?'),
      msg('detail', 'ann', 22_000, 'That makes all avatars look ugly with the dark design'),
      msg('alpha-ans', 'bob', 27 * 60_000, 'ann: Alpha channel is just fine but we put a white box behind avatars so that they stay readable'),
    ]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const q = Object.fromEntries(r.questions.map((x) => [x.id, x]))
    expect(q.alpha).toMatchObject({ answered: true, answer: { messageId: 'alpha-ans', authorId: 'bob' } })
    const c = await qi.conversations(messages)
    expect(c.messages.find((m) => m.id === 'alpha-ans')).toMatchObject({ parentId: 'detail', link: 'mention' })
  })

  test('one author repeating a question twenty times makes no top cluster: ranked by people, listed apart', async () => {
    const messages = []
    for (let i = 0; i < 20; i++) messages.push(msg(`spam${i}`, 'mallory', i * 3600_000, i % 2 ? 'when is the next nitro giveaway??' : 'when is the next nitro giveaway?'))
    const others = ['how do I reset my password?', 'how can I reset my password', 'I forgot my password, how do I reset it?']
    others.forEach((text, i) => messages.push({ ...msg(`pw${i}`, `user${i}`, 30 * 3600_000 + i * 7200_000, text), channelId: `c${i}` }))
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const spamIds = messages.filter((m) => m.authorId === 'mallory').map((m) => m.id).sort()
    expect(r.clusters.flatMap((c) => c.messageIds).some((id) => id.startsWith('spam'))).toBe(false)
    // the repeats either form a cluster of one asker, listed apart, or read as one ask repeated in its conversation
    const reported = r.questions.flatMap((q) => q.messageIds).filter((id) => id.startsWith('spam'))
    const spam = r.minorClusters.find((c) => c.messageIds.some((id) => id.startsWith('spam')))
    if (spam) expect(spam).toMatchObject({ askers: 1, size: reported.length })
    else expect(reported).toEqual(['spam0'])
    expect(r.stats.roles.ask + r.stats.roles.other).toBeGreaterThanOrEqual(20)
    expect(r.clusters[0]).toMatchObject({ askers: 3 })
  })

  test('an ask that names no topic ("can anyone help me?") is grouped by what its asker went on to say, and never stands for a cluster', async () => {
    const messages = []
    const say = (hour, minute, authorId, content, replyToId) => {
      const m = { id: `m${messages.length}`, channelId: 'help', authorId, content, timestamp: new Date(Date.UTC(2026, 9, 5, 9 + hour, minute)).toISOString(), ...(replyToId ? { replyToId } : {}) }
      messages.push(m)
      return m.id
    }
    // a container that cannot write to its volume, and a bot token after a reset: each opened once
    // by a greeting and a plea for help, the problem said after a helper's reply
    let plea = say(0, 0, 'u1', 'hi, can anyone help me?')
    let reply = say(0, 2, 'h1', 'sure, what is the problem?', plea)
    say(0, 3, 'u1', 'my postgres container cannot write to the mounted volume, permission denied on the data folder', reply)
    say(3, 0, 'u2', 'permission denied when my container writes to a bind mount, how do I fix the ownership of the volume?')
    say(5, 0, 'u3', 'the app user in my container gets EACCES writing to the docker volume, how do I make the volume writable?')
    say(7, 0, 'u4', 'why does my container get permission denied writing files to a mounted volume?')
    plea = say(9, 0, 'u5', 'hello, can someone help me please?')
    reply = say(9, 2, 'h2', 'with what?', plea)
    say(9, 3, 'u5', 'my discord bot says invalid token since I regenerated the token in the developer portal', reply)
    say(11, 0, 'u6', 'bot login fails with an invalid token error after resetting the token, what should I change?')
    say(13, 0, 'u7', 'where do I put the new bot token after regenerating it in the developer portal?')
    say(15, 0, 'u8', 'my bot stopped logging in after I reset its token, how do I fix the invalid token error?')
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const clusterOf = (author) => r.questions.filter((q) => q.authorId === author).map((q) => q.clusterId)
    const pleas = r.questions.filter((q) => /can (anyone|someone) help me/.test(q.original))
    expect(pleas.map((q) => q.authorId)).toEqual(['u1', 'u5'])
    // each plea joins the asks of its topic (until 2026-12-03 the two made a cluster of their own)
    expect(new Set(['u1', 'u2', 'u3', 'u4'].flatMap(clusterOf))).toEqual(new Set([clusterOf('u2')[0]]))
    expect(new Set(['u5', 'u6', 'u7', 'u8'].flatMap(clusterOf))).toEqual(new Set([clusterOf('u6')[0]]))
    expect(clusterOf('u1')[0]).not.toBe(clusterOf('u5')[0])
    expect(r.clusters.map((c) => c.askers)).toEqual([4, 4])
    // and the page shows what was asked, not the plea
    for (const c of r.clusters) {
      expect(c.representative).not.toMatch(/help me/)
      for (const s of c.samples) expect(s).not.toMatch(/help me/)
    }
  })

  test('asks are grouped by what they ask, not by whom they address: a helper\'s "nick:" is not read', async () => {
    const asks = [
      'carol_dev: how do I reset my password?',
      'carol_dev, I forgot my password, how do I change it?',
      'carol_dev: is there a dark mode?',
      'carol_dev, can I switch to a dark theme?',
      'carol_dev: which port does the server use?',
      'carol_dev, what port should I open for the server?',
    ]
    const messages = [{ id: 'h0', channelId: 'help', authorId: '999', authorName: 'carol_dev', content: 'welcome! ask away', timestamp: '2026-10-01T08:00:00Z' }]
    asks.forEach((content, i) => messages.push({ id: `m${i}`, channelId: 'help', authorId: `u${i}`, content, timestamp: new Date(Date.UTC(2026, 9, 1, 10 + 3 * i)).toISOString() }))
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    const clusterOf = (id) => r.questions.find((q) => q.messageIds.includes(id))?.clusterId
    // until 2026-12-03 the name made them one cluster of every topic
    expect(clusterOf('m0')).toBe(clusterOf('m1'))
    expect(clusterOf('m2')).toBe(clusterOf('m3'))
    expect(clusterOf('m2')).not.toBeNull()
    expect(clusterOf('m2')).not.toBe(clusterOf('m0'))
    expect(clusterOf('m5')).not.toBe(clusterOf('m0'))
    expect(clusterOf('m5')).not.toBe(clusterOf('m2'))
  })

  test('messages outside the month are rejected as outside_month, not analysed', async () => {
    const messages = [msg('in', 'alice', 0, 'how do I reset my password?'), { ...msg('next', 'bob', 0, 'how do I reset my password?'), timestamp: '2026-11-01T00:00:00Z' }, { ...msg('prev', 'bob', 0, 'x'), timestamp: '2026-09-30T23:59:59.999Z' }]
    const r = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages, options: { llm: { apiKey: '' } } })
    expect(r.stats.rejected).toEqual([
      { index: 1, id: 'next', reason: 'outside_month' },
      { index: 2, id: 'prev', reason: 'outside_month' },
    ])
    expect(r.stats.analyzed).toBe(1)
    expect(r.questions.map((q) => q.id)).toEqual(['in'])
  })

  test('with an LLM: questions rewritten with their context, clusters titled, log lines carry the correlation id', async () => {
    const fake = await startFakeOpenAI({})
    const logs = []
    try {
      const r = await qi.analyzeTenant({
        ...base,
        messages: sample.messages,
        options: { llm: { apiKey: 'sk-x', baseUrl: fake.url }, correlationId: 'job-42', onLog: (l) => logs.push(l) },
      })
      const rewritten = r.questions.filter((q) => q.source === 'llm')
      expect(rewritten.length).toBeGreaterThan(0)
      expect(r.stats.extracted).toBeGreaterThanOrEqual(rewritten.length)
      expect(r.stats.skippedExtraction).toBeGreaterThan(0)
      for (const q of rewritten) expect(q.extracted).toMatch(/^Standalone: /)
      expect(r.clusters.filter((c) => typeof c.title === 'string').length).toBeGreaterThan(0)
      expect(logs.length).toBeGreaterThan(0)
      expect(logs.every((l) => l.correlationId === 'job-42' && l.tenantId === 'sample')).toBe(true)
    } finally {
      await fake.close()
    }
  })

  test('with an LLM, the candidates the detector is unsure of are reviewed: asks when it rewrites them, left out when it says NOT_A_QUESTION', async () => {
    const input = sample.messages.map(({ id, channelId, authorId, content, timestamp, replyToId, threadId, authorIsBot }) => ({ id, channelId, authorId, content, timestamp, replyToId, threadId, authorIsBot }))
    const threshold = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'models', 'asks', 'ask-model.json'), 'utf8')).threshold
    const roles = await qi.asks(input)
    const unsure = sample.messages.filter((m, i) => roles[i].role && roles[i].role !== 'ask' && roles[i].askProbability >= 0.2 && roles[i].askProbability < threshold)
    const turnedDown = unsure.find((m) => /student discount/.test(m.content))
    expect(unsure.length).toBeGreaterThan(5)
    expect(turnedDown).toBeDefined()
    const reported = (r) => new Set(r.questions.filter((q) => !q.notRequest).flatMap((q) => q.messageIds))
    const listed = (r) => new Set(r.questions.flatMap((q) => q.messageIds))
    // the LLM rewrites every question but one of the unsure candidates
    const fake = await startFakeOpenAI({ answer: (user) => (questionsIn(user)[0] === turnedDown.content ? 'NOT_A_QUESTION' : undefined) })
    const logs = []
    try {
      const reviewed = await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: 'k', baseUrl: fake.url }, onLog: (l) => logs.push(l) } })
      const off = await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: 'k', baseUrl: fake.url }, askReview: 1 } })
      for (const m of unsure) {
        // offline, or with the review off, they are not asks
        expect(reported(result).has(m.id)).toBe(false)
        expect(listed(off).has(m.id)).toBe(false)
        // reviewed: asks, unless the LLM turned them down; then they are not listed at all
        expect(reported(reviewed).has(m.id)).toBe(m !== turnedDown)
      }
      expect(listed(reviewed).has(turnedDown.id)).toBe(false)
      expect(reviewed.stats.roles.ask).toBe(off.stats.roles.ask + unsure.length - 1)
      expect(reviewed.stats.notRequests).toBe(off.stats.notRequests)
      // the turned-down candidate is no rewritten question either
      expect(reviewed.stats.extracted).toBe(off.stats.extracted + unsure.length - 1)
      expect(off.stats.roles).toEqual(result.stats.roles)
      expect(logs.some((l) => l.message.includes(`confirmed ${unsure.length - 1} of the ${unsure.length} candidates`))).toBe(true)
      // every reviewed candidate was sent, with its author
      const sent = fake.stats.bodies.map((b) => b.messages[1].content)
      for (const m of unsure) expect(sent.some((u) => questionsIn(u)[0] === m.content && u.includes(`<asker>${m.authorId}</asker>`))).toBe(true)
    } finally {
      await fake.close()
    }
  })

  test('the encoder starts during extraction: answers arriving one by one or in bursts give the same clusters', async () => {
    // one request at a time, 30 ms each: the encoder takes the asks as they trickle in; eight at
    // once without delay: in bursts. Vectors do not depend on what they were embedded with.
    const runs = []
    for (const [concurrency, delayMs] of [[1, 30], [8, 0]]) {
      const fake = await startFakeOpenAI({ delayMs })
      try {
        runs.push(await qi.analyzeTenant({ ...base, messages: sample.messages, options: { skipSelfContained: false, llm: { apiKey: 'k', baseUrl: fake.url, concurrency } } }))
      } finally {
        await fake.close()
      }
    }
    expect(runs[0].stats.extracted).toBeGreaterThan(20)
    expect(summary(runs[1])).toEqual(summary(runs[0]))
    expect(runs[1].clusters.map((c) => c.representative)).toEqual(runs[0].clusters.map((c) => c.representative))
    for (const r of runs) {
      const t = r.stats.timingsMs
      // the encoder's busy time is its own; what the pipeline waited for after extraction is part of it
      expect(t.embed).toBeGreaterThan(0)
      expect(t.embedWait).toBeLessThanOrEqual(t.total)
    }
  })

  test('streaming input (async iterable or pull function) gives the same result as an array', async () => {
    const pages = []
    for (let i = 0; i < sample.messages.length; i += 100) pages.push(sample.messages.slice(i, i + 100))
    async function* iterate() {
      for (const p of pages) {
        await new Promise((r) => setImmediate(r))
        yield p
      }
    }
    const viaIterable = await qi.analyzeTenant({ ...base, messages: iterate(), options: { llm: { apiKey: '' }, batchSize: 64 } })
    let k = 0
    const viaPull = await qi.analyzeTenant({ ...base, messages: async () => (k < pages.length ? pages[k++] : null), options: { llm: { apiKey: '' } } })
    expect(summary(viaIterable)).toEqual(summary(result))
    expect(summary(viaPull)).toEqual(summary(result))
    expect(viaPull.stats.messages).toBe(sample.messages.length)
  })

  test('unsorted input and repeated ids (one kept), Date and epoch timestamps', async () => {
    const shuffled = [...sample.messages].reverse()
    const repeated = [...shuffled, ...shuffled.slice(0, 50)].map((m, i) => ({ ...m, timestamp: i % 3 === 0 ? new Date(m.timestamp) : i % 3 === 1 ? Date.parse(m.timestamp) : m.timestamp }))
    const r = await qi.analyzeTenant({ ...base, messages: repeated, options: { llm: { apiKey: '' } } })
    expect(r.stats.repeatedIds).toBe(50)
    expect(r.stats.analyzed).toBe(sample.messages.length)
    expect(summary(r)).toEqual(summary(result))
  })

  test('bad messages are reported in stats.rejected with reasons and do not stop the tenant', async () => {
    const bad = [
      { channelId: 'c', authorId: 'a', content: 'no id?', timestamp: 0 },
      { id: 'b1', channelId: 'c', authorId: 'a', content: 'when?', timestamp: 'tomorrow' },
      { id: 'b2', channelId: 'c', authorId: 'a', content: 42, timestamp: 0 },
      { id: 'b3', channelId: 'c', authorId: 'a', content: () => 'fn', timestamp: 0 },
      'not even an object',
      { id: 'b5', channelId: 'c', authorId: 'a', content: 'a bot?', timestamp: 0, authorIsBot: 'yes' },
    ]
    const r = await qi.analyzeTenant({ ...base, messages: [...bad, ...sample.messages], options: { llm: { apiKey: '' } } })
    expect(r.stats.rejected.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5])
    expect(r.stats.rejected[0].reason).toMatch(/id/)
    expect(r.stats.rejected[1]).toMatchObject({ id: 'b1', reason: expect.stringMatching(/timestamp/) })
    expect(r.stats.rejected[2].reason).toMatch(/content/)
    expect(r.stats.rejected[3].reason).toMatch(/function/)
    expect(r.stats.rejected[5]).toEqual({ index: 5, id: 'b5', reason: 'authorIsBot is not a boolean' })
    expect(summary(r)).toEqual(summary(result))
  })

  test('progress: stages in order, percent never goes back, ends at 100, throttled', async () => {
    const events = []
    await qi.analyzeTenant({ ...base, messages: sample.messages, options: { llm: { apiKey: '' }, batchSize: 50 } }, (p) => events.push(p))
    const order = ['classify', 'conversations', 'asks', 'extract', 'embed', 'dedupe', 'cluster', 'keywords', 'done']
    const stages = events.map((e) => e.stage)
    expect(stages.map((s) => order.indexOf(s)).every((x, i, a) => x >= 0 && (i === 0 || x >= a[i - 1]))).toBe(true)
    expect(events.map((e) => e.percent).every((x, i, a) => i === 0 || x >= a[i - 1])).toBe(true)
    expect(events[events.length - 1]).toMatchObject({ stage: 'done', percent: 100, tenantId: 'sample' })
    expect(events.length).toBeLessThan(60)
  })

  test('an LLM outage: progress and the log say the stage waits for the provider; the deadline keeps the originals', async () => {
    const fake = await startFakeOpenAI({ mode: '500' })
    const events = []
    const logs = []
    try {
      const r = await qi.analyzeTenant(
        {
          ...base,
          messages: sample.messages,
          options: {
            skipSelfContained: false,
            onLog: (l) => logs.push(l),
            llm: { apiKey: 'k', baseUrl: fake.url, maxRetries: 5, backoffBaseMs: 5, concurrency: 2, breakerMinCalls: 4, breakerCooldownMs: 300, deadlineMs: 1500 },
          },
        },
        (p) => events.push(p),
      )
      expect(r.stats.extracted).toBe(0)
      expect(r.questions.every((q) => q.source === 'original')).toBe(true)
      const waiting = events.filter((e) => e.waiting != null)
      expect(waiting.length).toBeGreaterThan(0)
      for (const e of waiting) {
        expect(e.stage).toBe('extract')
        expect(e.waiting).toMatch(/^waiting for the LLM provider \(breaker open, retry in \d+ s\)$/)
      }
      expect(events.filter((e) => e.waiting == null && e.stage !== 'extract').length).toBeGreaterThan(0)
      expect(logs.some((l) => l.stage === 'extract' && /^waiting for the LLM provider \(breaker open/.test(l.message))).toBe(true)
      expect(r.stats.warnings.join(' ')).toMatch(/deadline of 1.5 s passed/)
    } finally {
      await fake.close()
    }
  })

  test('AbortSignal: rejects with an AbortError, at once when already aborted', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(qi.analyzeTenant({ ...base, messages: sample.messages, options: { signal: ac.signal } })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    const fake = await startFakeOpenAI({ delayMs: 200 })
    try {
      const ac2 = new AbortController()
      const p = qi.analyzeTenant(
        { ...base, messages: sample.messages, options: { signal: ac2.signal, skipSelfContained: false, llm: { apiKey: 'k', baseUrl: fake.url, concurrency: 1 } } },
        (e) => e.stage === 'extract' && ac2.abort(),
      )
      await expect(p).rejects.toMatchObject({ name: 'AbortError' })
      expect(fake.stats.requests).toBeLessThan(10)
    } finally {
      await fake.close()
    }
  })

  test('several tenants at once get the same results', async () => {
    const runs = await Promise.all(['a', 'b', 'c'].map((tenantId) => qi.analyzeTenant({ tenantId, month: base.month, messages: sample.messages, options: { llm: { apiKey: '' } } })))
    for (const r of runs) expect(summary(r)).toEqual(summary(result))
    expect(runs.map((r) => r.tenantId)).toEqual(['a', 'b', 'c'])
  })

  test('a panic inside the library rejects the promise and the process lives on', () => {
    const script = `
      const qi = require(${JSON.stringify(path.join(__dirname, '..'))})
      const s = require(${JSON.stringify(path.join(__dirname, '..', 'data', 'sample-month.json'))})
      qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: s.messages, options: { llm: { apiKey: '' } } })
        .then(() => console.log('resolved'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))
        .then(() => qi.classify(['still alive?']))
        .then((r) => console.log('alive', r.length))`
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, QUESTION_INSIGHTS_FAULT: 'panic:cluster' } })
    const [first, second] = out.trim().split('\n')
    expect(JSON.parse(first)).toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(/panic/) })
    expect(second).toBe('alive 1')
  })

  test('bad input rejects naming the field', async () => {
    await expect(qi.analyzeTenant()).rejects.toMatchObject({ name: 'TypeError', field: 'input' })
    await expect(qi.analyzeTenant({ month: '2026-10', messages: [] })).rejects.toMatchObject({ name: 'TypeError', field: 'tenantId' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-13', messages: [] })).rejects.toMatchObject({ name: 'RangeError', field: 'month' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: 'x' })).rejects.toMatchObject({ name: 'TypeError', field: 'messages' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { threshold: 2 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { cluster: { minClusterSize: 0 } } })).rejects.toMatchObject({ field: 'options.cluster.minClusterSize' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { onLog: 'x' } })).rejects.toMatchObject({ field: 'options.onLog' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { questions: 'some' } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.questions' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { minAskers: 0 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.minAskers' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { askReview: 1.5 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.askReview' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [], options: { askReview: 'low' } })).rejects.toMatchObject({ field: 'options.askReview' })
    await expect(qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: async () => { throw new Error('db down') } })).rejects.toMatchObject({ code: 'ERR_MESSAGE_SOURCE', message: expect.stringMatching(/db down/) })
    const empty = await qi.analyzeTenant({ tenantId: 't', month: '2026-10', messages: [] })
    expect(empty).toMatchObject({ questions: [], clusters: [], stats: { messages: 0, questions: 0 } })
  })
})
