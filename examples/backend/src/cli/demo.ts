/**
 * `npm run demo`: migrates DATABASE_URL (schema DATABASE_SCHEMA, default here `qi_demo`), loads
 * the library's sample month as tenant `demo`, runs the month through an in-process worker and
 * exports EXPORT_DIR/demo/questions.json (default ./artifacts/demo-export). Without
 * OPENROUTER_API_KEY the library keeps the original questions (no LLM).
 */
import fs from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../config'
import { createDb } from '../db/index'
import { migrateToLatest } from '../db/migrate'
import { exportQuestionAnalysis } from '../export'
import { loadAnalyzeTenant } from '../library'
import { createLogger } from '../logger'
import { backendRoot } from '../paths'
import { type MonthJobResult, createQueues, createRedis, enqueueMonthAnalysis, jobWithState } from '../queue'
import { QuestionRepository } from '../repository'
import { questionAnalysisWorker } from '../worker'

interface Sample {
  month: string
  messages: Array<{ id: string; channelId: string; authorId: string; content: string; timestamp: string; threadId?: string | null; replyToId?: string | null; authorIsBot?: boolean }>
}

async function main(): Promise<void> {
  const config = loadConfig({
    DATABASE_SCHEMA: 'qi_demo',
    QUEUE_PREFIX: 'qi_demo',
    EXPORT_DIR: path.join(backendRoot, 'artifacts', 'demo-export'),
    SCHEDULE_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    ...process.env,
  })
  const logger = createLogger(config.logLevel, { role: 'demo' })
  const sample = JSON.parse(fs.readFileSync(path.join(config.libraryPath, 'data', 'sample-month.json'), 'utf8')) as Sample
  const db = createDb(config)
  const connection = createRedis(config)
  const queues = createQueues(config, connection)
  const worker = questionAnalysisWorker({ config, db, logger, analyzeTenant: loadAnalyzeTenant(config.libraryPath), connection, queues })
  try {
    await migrateToLatest(db, config.databaseSchema)
    await db.deleteFrom('tenants').where('id', '=', 'demo').execute()
    await db.insertInto('tenants').values({ id: 'demo', name: 'Demo community' }).execute()
    const rows = sample.messages.map((m) => ({
      id: `demo-${m.id}`,
      tenant_id: 'demo',
      channel_id: m.channelId,
      author_id: m.authorId,
      content: m.content,
      created_at: m.timestamp,
      thread_id: m.threadId ? `demo-${m.threadId}` : null,
      reply_to_id: m.replyToId ? `demo-${m.replyToId}` : null,
      author_is_bot: m.authorIsBot === true,
    }))
    for (let i = 0; i < rows.length; i += 500) await db.insertInto('messages').values(rows.slice(i, i + 500)).execute()
    console.log(`seeded tenant demo: ${rows.length} messages of ${sample.month} (schema ${config.databaseSchema})`)

    await worker.ready()
    const job = await enqueueMonthAnalysis(queues, { month: sample.month, tenantId: 'demo', force: true, trigger: 'cli' })
    const started = Date.now()
    let result: MonthJobResult | undefined
    while (!result) {
      if (Date.now() - started > 300_000) throw new Error('the demo analysis took more than 5 minutes')
      const s = await jobWithState(queues.monthQueue, job.id!)
      if (s?.state === 'failed') throw new Error(`analysis failed: ${s.job.failedReason}`)
      if (s?.state === 'completed') result = s.job.returnvalue
      else await new Promise((r) => setTimeout(r, 250))
    }
    if (result.failed.length > 0) throw new Error(`analysis failed: ${JSON.stringify(result.failed)}`)
    const exported = await exportQuestionAnalysis('demo', { db, exportDir: config.exportDir })
    const clusters = await new QuestionRepository(db).loadClusters('demo', sample.month)
    console.log(`analysed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${clusters.length} clusters`)
    for (const c of clusters.slice(0, 5)) {
      const askers = c.askers === null ? '' : ` · asked by ${c.askers}`
      console.log(`  ${String(c.size).padStart(3)} messages${askers}  ${c.title ?? c.representative}  [${c.keywords.join(', ')}]`)
    }
    console.log(`wrote ${exported.questionsPath} and ${exported.metadataPath}`)
  } finally {
    await worker.close()
    await queues.close()
    await connection.quit()
    await db.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err)
  process.exit(1)
})
