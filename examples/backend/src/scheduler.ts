import type { Queue } from 'bullmq'
import type { Config } from './config'
import { MONTH_JOB, type MonthJobData, type MonthJobResult, SCHEDULER_ID } from './queue'

/**
 * Registers (or updates) the repeatable month job: by default `0 2 1 * *` in UTC, i.e. the 1st of
 * every month at 02:00. The job carries no month: the worker analyses the calendar month before
 * the job's scheduled time (see monthForJob). Idempotent: every worker process may call it.
 */
export async function registerMonthlySchedule(queue: Queue<MonthJobData, MonthJobResult>, schedule: Config['schedule']) {
  return queue.upsertJobScheduler(
    SCHEDULER_ID,
    { pattern: schedule.cron, tz: schedule.tz },
    { name: MONTH_JOB, data: { trigger: 'cron', step: 'fanout' } },
  )
}

export async function removeMonthlySchedule(queue: Queue<MonthJobData, MonthJobResult>): Promise<boolean> {
  return queue.removeJobScheduler(SCHEDULER_ID)
}
