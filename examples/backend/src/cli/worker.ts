/** Worker process: `node dist/src/cli/worker.js` (configuration: see README.md). */
import { loadConfig } from '../config'
import { createDb } from '../db/index'
import { loadAnalyzeTenant } from '../library'
import { createLogger } from '../logger'
import { createQueues, createRedis } from '../queue'
import { registerMonthlySchedule } from '../scheduler'
import { questionAnalysisWorker } from '../worker'

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger(config.logLevel, { role: 'worker' })
  const analyzeTenant = loadAnalyzeTenant(config.libraryPath)
  const db = createDb(config)
  const connection = createRedis(config)
  const queues = createQueues(config, connection)
  const worker = questionAnalysisWorker({ config, db, logger, analyzeTenant, connection, queues })
  await worker.ready()
  if (config.schedule.enabled) {
    const next = await registerMonthlySchedule(queues.monthQueue, config.schedule)
    logger.info({ cron: config.schedule.cron, tz: config.schedule.tz, nextJobId: next?.id }, 'monthly schedule registered')
  }
  logger.info(
    { queuePrefix: config.queuePrefix, schema: config.databaseSchema, tenantConcurrency: config.worker.tenantConcurrency, library: config.libraryPath },
    'worker ready',
  )

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, 'worker stopping: waiting for running jobs')
    try {
      await worker.close()
      await queues.close()
      await connection.quit()
      await db.destroy()
      logger.info('worker stopped')
      process.exit(0)
    } catch (err) {
      logger.error({ err }, 'worker did not stop cleanly')
      process.exit(1)
    }
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((err: unknown) => {
  createLogger('info', { role: 'worker' }).fatal({ err }, 'worker failed to start')
  process.exit(1)
})
