/** Admin API process: `node dist/src/cli/api.js` (needs ADMIN_TOKEN). */
import { loadConfig } from '../config'
import { createDb } from '../db/index'
import { createLogger } from '../logger'
import { createQueues, createRedis } from '../queue'
import { QuestionRepository } from '../repository'
import { buildServer } from '../server'

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger(config.logLevel, { role: 'api' })
  if (!config.api.adminToken) throw new Error('ADMIN_TOKEN must be set for the admin API')
  const db = createDb(config)
  const connection = createRedis(config)
  const queues = createQueues(config, connection)
  const app = buildServer({ adminToken: config.api.adminToken, queues, repo: new QuestionRepository(db), logger })
  await app.listen({ host: config.api.host, port: config.api.port })
  const close = async () => {
    await app.close()
    await queues.close()
    await connection.quit()
    await db.destroy()
    process.exit(0)
  }
  process.on('SIGINT', () => void close())
  process.on('SIGTERM', () => void close())
}

main().catch((err: unknown) => {
  createLogger('info', { role: 'api' }).fatal({ err }, 'api failed to start')
  process.exit(1)
})
