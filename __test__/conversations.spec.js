'use strict'
const { qi } = require('./helpers')

const t0 = Date.parse('2024-05-01T10:00:00Z')
const at = (s) => new Date(t0 + s * 1000).toISOString()
const msg = (id, authorId, content, s, extra = {}) => ({ id, channelId: 'help', authorId, content, timestamp: at(s), ...extra })

describe('conversations', () => {
  test('reply links and threads, per message in input order', async () => {
    const messages = [
      msg('q', 'ann', 'How do I mount an NFS share at boot?', 0),
      msg('x', 'bob', 'anyone seen the new release notes', 5),
      msg('a', 'cat', 'add it to fstab with _netdev', 3000, { replyToId: 'q' }),
      msg('s', 'dan', 'Docker build fails with "no space left on device"', 3100),
      msg('t2', 'dan', 'that fixed it, thanks', 3300, { threadId: 's' }),
      msg('t1', 'eve', 'run docker system prune', 3200, { threadId: 's' }),
    ]
    const out = await qi.conversations(messages)
    expect(out.messages.map((m) => m.id)).toEqual(['q', 'x', 'a', 's', 't2', 't1'])
    const by = Object.fromEntries(out.messages.map((m) => [m.id, m]))
    expect(by.q).toEqual({ id: 'q', conversationId: 'q', parentId: null, link: 'start' })
    expect(by.a).toEqual({ id: 'a', conversationId: 'q', parentId: 'q', link: 'reply' })
    expect(by.t1).toEqual({ id: 't1', conversationId: 's', parentId: 's', link: 'thread' })
    expect(by.t2).toEqual({ id: 't2', conversationId: 's', parentId: 't1', link: 'thread' })
    const thread = out.conversations.find((c) => c.id === 's')
    expect(thread).toEqual({ id: 's', messageIds: ['s', 't1', 't2'], starterId: 'dan', startedAt: at(3100) })
    expect(out.conversations.find((c) => c.id === 'q').messageIds).toEqual(['q', 'a'])
    // every message is in exactly one conversation, conversations ordered by their first message
    expect(out.conversations.flatMap((c) => c.messageIds).sort()).toEqual(messages.map((m) => m.id).sort())
    const starts = out.conversations.map((c) => Date.parse(c.startedAt))
    expect([...starts].sort((x, y) => x - y)).toEqual(starts)
  })

  test('the linker joins an addressed exchange and leaves a far-off message alone; linker: false uses the time gap', async () => {
    const messages = [
      msg('1', 'ann', 'how do I make docker compose restart a container when it crashes?', 0),
      msg('2', 'bob', 'ann: use restart: always in the service', 40, { authorName: 'Bob' }),
      msg('3', 'ann', '@Bob thanks, that works', 70),
      msg('4', 'cat', 'Hi all, is there a way to shrink the overlay2 folder?', 6 * 3600),
    ]
    const out = await qi.conversations(messages)
    expect(out.messages.map((m) => [m.conversationId, m.parentId, m.link])).toEqual([
      ['1', null, 'start'],
      ['1', '1', 'model'],
      ['1', '2', 'model'],
      ['4', null, 'start'],
    ])
    const gap = await qi.conversations(messages, { linker: false, maxGapMs: 35_000 })
    expect(gap.messages.map((m) => m.conversationId)).toEqual(['1', '2', '2', '4'])
    const mention = await qi.conversations([msg('p', 'ann', 'my build is broken', 0), msg('r', 'bob', 'look at the logs', 30, { mentions: ['ann'] })])
    expect(mention.messages[1]).toMatchObject({ parentId: 'p', link: 'mention' })
  })

  test("a bot's message stands alone: an auto-reply joins no conversation, a reply to it continues nothing", async () => {
    const messages = [
      msg('q', 'ann', 'How do I mount an NFS share at boot?', 0),
      msg('auto', 'helper-bot', 'Thanks for asking! A helper will be with you soon.', 2, { replyToId: 'q', authorIsBot: true }),
      msg('r', 'bob', 'does that FAQ cover samba too?', 60, { replyToId: 'auto' }),
    ]
    const by = async (list) => Object.fromEntries((await qi.conversations(list)).messages.map((m) => [m.id, m]))
    const flagged = await by(messages)
    expect(flagged.auto).toEqual({ id: 'auto', conversationId: 'auto', parentId: null, link: 'start' })
    expect(flagged.r.parentId).not.toBe('auto')
    const plain = await by(messages.map(({ authorIsBot, ...m }) => m))
    expect(plain.auto).toMatchObject({ conversationId: 'q', parentId: 'q', link: 'reply' })
    expect(plain.r).toMatchObject({ parentId: 'auto', link: 'reply' })
    const roles = await qi.asks([msg('f', 'github', 'Issue opened #41: How do I configure the proxy?', 0, { authorIsBot: true })])
    expect(roles[0]).toMatchObject({ id: 'f', role: null })
  })

  test('bad input and unknown options reject naming the field', async () => {
    const ok = msg('1', 'ann', 'hi', 0)
    await expect(qi.conversations('nope')).rejects.toMatchObject({ name: 'TypeError', field: 'messages' })
    await expect(qi.conversations([ok, { ...ok, id: '2', timestamp: 'soon' }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[1].timestamp' })
    await expect(qi.conversations([{ ...ok, channelId: undefined }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].channelId' })
    await expect(qi.conversations([{ ...ok, content: 5 }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].content' })
    await expect(qi.conversations([{ ...ok, mentions: 'ann' }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].mentions' })
    await expect(qi.conversations([{ ...ok, authorIsBot: 1 }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].authorIsBot' })
    await expect(qi.conversations([7])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0]' })
    await expect(qi.conversations([ok], { maxGap: 5 })).rejects.toMatchObject({ name: 'TypeError', field: 'options.maxGap' })
    await expect(qi.conversations([ok], { threshold: 2 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.conversations([ok], { model: '{}' })).rejects.toMatchObject({ name: 'TypeError', field: 'options.model' })
    await expect(qi.conversations([])).resolves.toEqual({ messages: [], conversations: [] })
  })
})
