import type { Db } from './db/index'
import type { TenantMessage } from './library'
import { monthRange } from './month'

export interface PageOptions {
  /** Messages per page (default 1000). */
  pageSize?: number
  /** Pause before every page after the first (default 0). */
  delayMs?: number
  /** Called after each page is read. */
  onPage?: (page: { index: number; rows: number; total: number }) => void
  signal?: AbortSignal
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error)
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      reject(signal.reason as Error)
    }, { once: true })
  })

/**
 * A pull function over a tenant's messages of one month (UTC), in keyset pages ordered by
 * (created_at, id): each call returns the next page, then null. Only that tenant's rows are read.
 */
export function monthMessagePages(db: Db, tenantId: string, month: string, opts: PageOptions = {}): () => Promise<TenantMessage[] | null> {
  const { start, end } = monthRange(month)
  const pageSize = opts.pageSize ?? 1000
  let after: { createdAt: Date; id: string } | null = null
  let index = 0
  let total = 0
  let done = false

  return async () => {
    if (done) return null
    if (index > 0 && opts.delayMs) await sleep(opts.delayMs, opts.signal)
    let q = db
      .selectFrom('messages')
      .select(['id', 'channel_id', 'author_id', 'content', 'created_at', 'thread_id', 'reply_to_id', 'author_name', 'author_is_bot'])
      .where('tenant_id', '=', tenantId)
      .where('created_at', '>=', start)
      .where('created_at', '<', end)
    if (after) {
      const a: { createdAt: Date; id: string } = after
      q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(a.createdAt, a.id)))
    }
    const rows = await q.orderBy('created_at').orderBy('id').limit(pageSize).execute()
    const last = rows[rows.length - 1]
    if (rows.length < pageSize) done = true
    if (!last) return null
    after = { createdAt: last.created_at, id: last.id }
    total += rows.length
    opts.onPage?.({ index, rows: rows.length, total })
    index += 1
    return rows.map((r) => {
      const m: TenantMessage = { id: r.id, channelId: r.channel_id, authorId: r.author_id, content: r.content, timestamp: r.created_at.toISOString() }
      if (r.thread_id !== null) m.threadId = r.thread_id
      if (r.reply_to_id !== null) m.replyToId = r.reply_to_id
      if (r.author_name !== null) m.authorName = r.author_name
      if (r.author_is_bot) m.authorIsBot = true
      return m
    })
  }
}

/** How many messages a tenant has in a month. */
export async function countMonthMessages(db: Db, tenantId: string, month: string): Promise<number> {
  const { start, end } = monthRange(month)
  const row = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', start)
    .where('created_at', '<', end)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
