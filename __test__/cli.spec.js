'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const cli = path.join(__dirname, '..', 'bin', 'question-insights.js')
const run = (args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENROUTER_API_KEY: '' } })

// A DiscordChatExporter JSON export, written for this test (the shape of the tool's --format Json).
function dceExport(channelId, messages) {
  return {
    guild: { id: '900000000000000001', name: 'Test Guild', iconUrl: '' },
    channel: { id: channelId, type: 'GuildTextChat', categoryId: '1', category: 'Text', name: 'help', topic: null },
    dateRange: { after: null, before: null },
    exportedAt: '2026-11-01T00:00:00+00:00',
    messages: messages.map(([id, author, content, timestamp, replyTo]) => ({
      id,
      type: replyTo ? 'Reply' : author === 'sys' ? 'ChannelPinnedMessage' : 'Default',
      timestamp,
      timestampEdited: null,
      isPinned: false,
      content,
      author: { id: author, name: author, discriminator: '0000', nickname: author, isBot: author.endsWith('-bot') },
      attachments: [],
      embeds: [],
      reactions: [],
      mentions: [],
      ...(replyTo ? { reference: { messageId: replyTo, channelId, guildId: '900000000000000001' } } : {}),
    })),
  }
}

describe('question-insights analyze (CLI)', () => {
  let dir
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-cli-'))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  test('reads DiscordChatExporter exports, shows progress and writes the result', () => {
    const a = dceExport('111', [
      ['1', 'sys', 'pinned a message', '2026-10-02T09:59:00+00:00'],
      ['2', 'alice', 'How do I reset my password?', '2026-10-02T10:00:00+00:00'],
      ['3', 'bob', 'use the link on the login page', '2026-10-02T10:01:00+00:00', '2'],
      ['4', 'carol', 'how can i reset my password', '2026-10-03T10:00:00+00:00'],
    ])
    const b = dceExport('222', [
      ['5', 'dave', 'is there a docker image?', '2026-10-04T10:00:00+00:00'],
      ['6', 'erin', 'thanks!', '2026-10-04T10:05:00+00:00'],
      ['7', 'feed-bot', 'New issue #12: is there a docker image for arm64?', '2026-10-05T10:00:00+00:00'],
    ])
    fs.writeFileSync(path.join(dir, 'help.json'), JSON.stringify(a))
    fs.writeFileSync(path.join(dir, 'dev.json'), JSON.stringify(b))
    const out = path.join(dir, 'result.json')
    execFileSync(process.execPath, [cli, 'analyze', path.join(dir, 'help.json'), path.join(dir, 'dev.json'), '--out', out], { stdio: 'pipe', env: { ...process.env, OPENROUTER_API_KEY: '' } })
    const r = JSON.parse(fs.readFileSync(out, 'utf8'))
    expect(r.tenantId).toBe('900000000000000001')
    expect(r.month).toBe('2026-10')
    expect(r.stats.messages).toBe(6) // the pinned-message notice is not a chat message
    expect(r.stats.botMessages).toBe(1) // author.isBot: the feed's post asks nothing
    // --keep-bots: a bridge's webhook relays members, read as members'
    execFileSync(process.execPath, [cli, 'analyze', path.join(dir, 'help.json'), path.join(dir, 'dev.json'), '--out', out, '--keep-bots'], { stdio: 'pipe', env: { ...process.env, OPENROUTER_API_KEY: '' } })
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).stats.botMessages).toBe(0)
    expect(r.questions.map((q) => q.id).sort()).toEqual(['2', '5'])
    expect(r.questions.find((q) => q.id === '2')).toMatchObject({ messageIds: ['2', '4'], answered: true, channelId: '111' })
  })

  test('prints JSON to stdout with --out -, and clear errors for bad files', () => {
    const file = path.join(dir, 'plain.json')
    fs.writeFileSync(file, JSON.stringify([{ id: 'x', channelId: 'c', authorId: 'a', content: 'what is this?', timestamp: '2026-09-09T00:00:00Z' }]))
    const r = JSON.parse(run(['analyze', file, '--out', '-', '--tenant', 't1']))
    expect(r).toMatchObject({ tenantId: 't1', month: '2026-09' })
    fs.writeFileSync(path.join(dir, 'broken.json'), '{not json')
    expect(() => run(['analyze', path.join(dir, 'broken.json')])).toThrow(/not JSON/)
    expect(() => run(['analyze', path.join(dir, 'missing.json')])).toThrow(/no such file/)
    expect(() => run(['frobnicate'])).toThrow(/unknown command/)
    expect(() => run(['analyze', file, '--frobnicate', '1'])).toThrow(/unknown option --frobnicate/)
    expect(() => run(['analyze', file, '--out'])).toThrow(/--out needs a value/)
    expect(() => run(['analyze', file, '--out', '-', '--ask-review', '2'])).toThrow(/options\.askReview/)
  })
})
