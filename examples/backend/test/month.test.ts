/** Month arithmetic of the scheduler (UTC) and the cron registration. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MONTH_JOB, SCHEDULER_ID, createQueues, monthForJob, scheduledTime } from '../src/queue'
import { monthOf, monthRange, previousMonth } from '../src/month'
import { registerMonthlySchedule, removeMonthlySchedule } from '../src/scheduler'
import { type TestContext, createTestContext } from './support/env'

describe('month ranges (UTC)', () => {
  test('previousMonth crosses the January boundary into the year before', () => {
    assert.equal(previousMonth(new Date('2025-01-01T02:00:00Z')), '2024-12')
    assert.equal(previousMonth(new Date('2025-01-31T23:59:59.999Z')), '2024-12')
    assert.equal(previousMonth(new Date('2025-02-01T02:00:00Z')), '2025-01')
    assert.equal(previousMonth(new Date('2024-03-01T02:00:00Z')), '2024-02')
  })

  test('uses UTC, not the local time zone', () => {
    // 00:30 UTC on March 1st is still February 29th in New York; the UTC month is March.
    assert.equal(monthOf(new Date('2024-03-01T00:30:00Z')), '2024-03')
    assert.equal(previousMonth(Date.parse('2024-03-01T00:30:00Z')), '2024-02')
  })

  test('monthRange is [first instant, first instant of the next month)', () => {
    assert.deepEqual(monthRange('2024-12'), { start: new Date('2024-12-01T00:00:00Z'), end: new Date('2025-01-01T00:00:00Z') })
    assert.deepEqual(monthRange('2025-01'), { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2025-02-01T00:00:00Z') })
    const feb = monthRange('2024-02') // leap year
    assert.equal((feb.end.getTime() - feb.start.getTime()) / 86_400_000, 29)
    assert.throws(() => monthRange('2024-13'), RangeError)
    assert.throws(() => monthRange('2024-1'), RangeError)
  })

  test('a scheduled job analyses the month before its fire time; an explicit month wins', () => {
    const fire = Date.parse('2025-01-01T02:00:00Z')
    // A scheduler's job was created a month earlier with a delay; prevMillis is its fire time.
    const created = Date.parse('2024-12-01T02:00:01Z')
    const cronJob = { data: {}, timestamp: created, delay: fire - created, opts: { prevMillis: fire } }
    assert.equal(scheduledTime(cronJob), fire)
    assert.equal(monthForJob(cronJob), '2024-12')
    assert.equal(monthForJob({ data: {}, timestamp: created, delay: fire - created }), '2024-12')
    assert.equal(monthForJob({ data: { month: '2023-07' }, timestamp: fire }), '2023-07')
    assert.throws(() => monthForJob({ data: { month: '2023-7' }, timestamp: fire }), /invalid month/)
  })
})

describe('monthly job scheduler (Redis)', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await createTestContext({ migrate: false })
  })
  after(async () => {
    await ctx?.cleanup()
  })

  test('registers `0 2 1 * *` in UTC: the next job fires on the 1st at 02:00 UTC', async () => {
    const queues = createQueues(ctx.config, ctx.redis)
    try {
      await registerMonthlySchedule(queues.monthQueue, ctx.config.schedule)
      await registerMonthlySchedule(queues.monthQueue, ctx.config.schedule) // idempotent
      const schedulers = await queues.monthQueue.getJobSchedulers()
      assert.equal(schedulers.length, 1)
      const s = schedulers[0]!
      assert.equal(s.key, SCHEDULER_ID)
      assert.equal(s.pattern, '0 2 1 * *')
      assert.equal(s.tz, 'UTC')
      assert.equal(s.name, MONTH_JOB)
      const next = new Date(s.next!)
      assert.equal(next.getUTCDate(), 1)
      assert.equal(next.getUTCHours(), 2)
      assert.equal(next.getUTCMinutes(), 0)
      assert.ok(next.getTime() > Date.now())
      // The delayed job it queued analyses the month before that fire time.
      const delayed = await queues.monthQueue.getDelayed()
      assert.equal(delayed.length, 1)
      assert.equal(monthForJob(delayed[0]!), previousMonth(next))
      assert.equal(await removeMonthlySchedule(queues.monthQueue), true)
    } finally {
      await queues.close()
    }
  })
})
