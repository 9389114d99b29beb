'use strict'
const { qi } = require('./helpers')

const t0 = Date.parse('2024-03-01T10:00:00Z')
const msg = (id, authorId, content, minutes, extra = {}) => ({
  id,
  channelId: 'help',
  authorId,
  content,
  timestamp: new Date(t0 + minutes * 60e3).toISOString(),
  ...extra,
})

// A help conversation held together by reply links, then an unrelated code paste.
const conversation = [
  msg('1', 'alice', "hi all, my container exits right after docker run and I can't figure out why", 0),
  msg('2', 'bob', 'what does docker logs say?', 1, { replyToId: '1' }),
  msg('3', 'alice', "Error: Cannot find module '/app/index.js'", 2, { replyToId: '2' }),
  msg('4', 'bob', 'your WORKDIR is wrong, set it to /app in the Dockerfile', 3, { replyToId: '3' }),
  msg('5', 'alice', 'huh?', 4, { replyToId: '4' }),
  msg('6', 'bob', 'the WORKDIR line, it has to match where you COPY the files', 5, { replyToId: '5' }),
  msg('7', 'alice', 'thanks, that worked', 6, { replyToId: '6' }),
  msg('8', 'carol', '```js\nconst port = env.PORT ? Number(env.PORT) : 8080\n```', 90),
]

describe('asks', () => {
  test('roles on a small conversation: an ask without ?, a clarification, back-channel, code with ?', async () => {
    const out = await qi.asks(conversation)
    expect(out.map((o) => o.id)).toEqual(conversation.map((m) => m.id))
    const by = Object.fromEntries(out.map((o) => [o.id, o]))
    expect(by['1'].role).toBe('ask')
    expect(by['1'].isQuestion).toBe(false)
    expect(by['2'].role).toBe('clarification')
    expect(by['5'].role).toBe('backchannel')
    expect(by['8'].role).not.toBe('ask')
    // the reply chain is one conversation, opened by message 1
    for (const id of ['1', '2', '3', '4', '5', '6', '7']) expect(by[id].conversationId).toBe('1')
    for (const o of out) {
      expect(o.confidence).toBeGreaterThanOrEqual(0)
      expect(o.confidence).toBeLessThanOrEqual(1)
      expect(o.isQuestion).toBe(o.confidence >= 0.7)
      if (o.role === null) expect(o.askProbability).toBeNull()
      else expect(o.askProbability).toBeGreaterThanOrEqual(0)
    }
    // a plain answer in the middle of the conversation is no candidate
    expect(by['4'].role).toBeNull()
  })

  test('small talk to the room is a question, not an ask; a question of the same shape about a problem is', async () => {
    const out = await qi.asks([
      msg('s1', 'dave', 'how is everyone doing?', 0),
      msg('s2', 'erin', 'anyone going to the meetup on friday?', 200),
      msg('s3', 'frank', 'how is everyone handling secrets in docker compose? I need to keep them out of git', 400),
    ])
    const by = Object.fromEntries(out.map((o) => [o.id, o]))
    expect(by.s1).toMatchObject({ isQuestion: true, role: 'other' })
    expect(by.s2).toMatchObject({ isQuestion: true, role: 'other' })
    expect(by.s3.role).toBe('ask')
  })

  test('a rhetorical question or debate is not an ask; the same words about the author\'s own problem are', async () => {
    const out = await qi.asks([
      msg('r1', 'gina', 'why would anyone self-host in 2026?', 0),
      msg('r2', 'hank', 'who even uses the old dashboard anymore?', 200),
      msg('r3', 'ivan', 'why would anyone get permission denied on the volume? I run the container as root', 400),
    ])
    const by = Object.fromEntries(out.map((o) => [o.id, o]))
    // each opens its conversation, so each is a candidate the model scores
    for (const id of ['r1', 'r2']) {
      expect(by[id].role).toBe('other')
      expect(by[id].askProbability).not.toBeNull()
    }
    expect(by.r3.role).toBe('ask')
  })

  test('sending someone elsewhere is not an ask; an asker who was sent elsewhere still asks', async () => {
    const out = await qi.asks([
      msg('s1', 'mod', "Is the project Gitter-related? If it's not a Gitter support question, please ask elsewhere. Thanks.", 0),
      msg('s2', 'mod', 'This room is for support of the app, not general technical support. Please read the welcome note', 3600),
      msg('s3', 'ivan', 'I was told to ask elsewhere, but how do I mount a volume in compose?', 7200),
    ])
    const by = Object.fromEntries(out.map((o) => [o.id, o]))
    expect(by.s1.role).not.toBe('ask')
    expect(by.s1.askProbability).not.toBeNull()
    expect(by.s2.role).not.toBe('ask')
    expect(by.s3.role).toBe('ask')
  })

  test('the threshold decides the ask role', async () => {
    const strict = await qi.asks(conversation, { threshold: 1 })
    expect(strict.some((o) => o.role === 'ask')).toBe(false)
    const loose = await qi.asks(conversation, { threshold: 0 })
    // at threshold 0 every candidate is an ask, but for pastes with a '?' (they ask nothing)
    for (const o of loose) if (o.role !== null && !conversation.find((m) => m.id === o.id).content.includes('```')) expect(o.role).toBe('ask')
  })

  test('a request repeated because nobody answered is an ask again, not a follow-up', async () => {
    const m = (id, authorId, content, minutes, extra) => ({ ...msg(id, authorId, content, minutes, extra), channelId: 'ubuntu' })
    const stream = [
      m('1', 'dave', 'what package is gstreamer-interfaces in?', 0),
      m('2', 'erin', 'anyone tried the new kernel on a thinkpad?', 1),
      m('3', 'frank', 'erin: yes, works fine here', 2, { replyToId: '2' }),
      m('4', 'erin', 'frank: nice, thanks', 3, { replyToId: '3' }),
      m('5', 'dave', 'what package is gstreamer-interfaces in?', 12),
      m('6', 'frank', 'dave: gstreamer0.10-plugins-base', 13),
      m('7', 'dave', 'frank: thanks!', 14),
    ]
    const by = Object.fromEntries((await qi.asks(stream)).map((o) => [o.id, o]))
    expect(by['1'].role).toBe('ask')
    // the repeat sits in dave's conversation, where the role model alone reads a follow-up
    expect(by['5'].conversationId).toBe('1')
    expect(by['5'].askProbability).toBeLessThan(0.5)
    expect(by['5'].role).toBe('ask')
    expect(by['7'].role).toBeNull()
  })

  test('bad input rejects naming the field', async () => {
    await expect(qi.asks('hello')).rejects.toMatchObject({ name: 'TypeError', field: 'messages' })
    await expect(qi.asks([{ id: 'a', channelId: 'c', authorId: 'u', timestamp: 0 }])).rejects.toMatchObject({
      name: 'TypeError',
      field: 'messages[0].content',
    })
    await expect(qi.asks([msg('a', 'u', 'x', 0), msg('a', 'v', 'y', 1)])).rejects.toMatchObject({ name: 'RangeError', field: 'messages[1].id' })
    await expect(qi.asks([], { treshold: 0.5 })).rejects.toMatchObject({ name: 'TypeError', field: 'options.treshold' })
    await expect(qi.asks([], { threshold: 2 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.asks([], { batchSize: 0 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.batchSize' })
    await expect(qi.asks([])).resolves.toEqual([])
  })
})
