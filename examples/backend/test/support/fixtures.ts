/**
 * Test data: the library's sample month (data/sample-month.json, a fictional developer-tool
 * Discord server) re-keyed per tenant and moved into the month under test.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Db } from '../../src/db/index'
import type { NewMessage } from '../../src/db/types'
import { monthRange } from '../../src/month'
import { repoRoot } from './env'

interface SampleMessage {
  id: string
  channelId: string
  authorId: string
  content: string
  timestamp: string
  threadId?: string | null
  replyToId?: string | null
  authorIsBot?: boolean
}

let sample: { month: string; messages: SampleMessage[] } | undefined

function loadSample() {
  if (!sample) {
    const file = path.join(repoRoot, 'data', 'sample-month.json')
    sample = JSON.parse(fs.readFileSync(file, 'utf8')) as { month: string; messages: SampleMessage[] }
  }
  return sample
}

/**
 * The sample month's messages for `tenantId` in `month` (a 31-day month, like the sample's):
 * ids are prefixed with the tenant id, timestamps keep their day and time.
 */
export function tenantMessages(tenantId: string, month: string, opts: { limit?: number } = {}): NewMessage[] {
  const s = loadSample()
  const { start, end } = monthRange(month)
  if ((end.getTime() - start.getTime()) / 86_400_000 !== 31) throw new Error(`fixtures need a 31-day month, got ${month}`)
  const key = (id: string) => `${tenantId}-${id}`
  return s.messages.slice(0, opts.limit ?? s.messages.length).map((m) => ({
    id: key(m.id),
    tenant_id: tenantId,
    channel_id: m.channelId,
    author_id: m.authorId,
    content: m.content,
    created_at: new Date(m.timestamp.replace(s.month, month)),
    thread_id: m.threadId ? key(m.threadId) : null,
    reply_to_id: m.replyToId ? key(m.replyToId) : null,
    author_is_bot: m.authorIsBot === true,
  }))
}

/** Messages just outside `month` (the last millisecond before it and its end): never analysed with it. */
export function outOfMonthMessages(tenantId: string, month: string): NewMessage[] {
  const { start, end } = monthRange(month)
  return [
    { at: new Date(start.getTime() - 1), id: 'before' },
    { at: end, id: 'after' },
  ].map(({ at, id }) => ({
    id: `${tenantId}-${id}`,
    tenant_id: tenantId,
    channel_id: 'c-general',
    author_id: 'u-edge',
    content: `how do I configure the ${id} month edge case?`,
    created_at: at,
    thread_id: null,
    reply_to_id: null,
  }))
}

export async function insertTenant(db: Db, t: { id: string; name?: string; active?: boolean; settings?: unknown }): Promise<void> {
  await db
    .insertInto('tenants')
    .values({ id: t.id, name: t.name ?? t.id, active: t.active ?? true, settings: JSON.stringify(t.settings ?? {}) })
    .execute()
}

export async function insertMessages(db: Db, rows: NewMessage[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('messages').values(rows.slice(i, i + 500)).execute()
}
