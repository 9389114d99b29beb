/** `node dist/src/cli/export.js <tenantId...>|--all` — writes EXPORT_DIR/<tenantId>/questions.json and metadata.json. */
import { loadConfig } from '../config'
import { createDb } from '../db/index'
import { exportQuestionAnalysis } from '../export'

async function main(): Promise<void> {
  const config = loadConfig()
  const args = process.argv.slice(2)
  if (args.length === 0) throw new Error('usage: export.js <tenantId...> | --all')
  const db = createDb(config)
  try {
    const tenants = args.includes('--all') ? (await db.selectFrom('tenants').select('id').orderBy('id').execute()).map((t) => t.id) : args
    for (const tenantId of tenants) {
      const r = await exportQuestionAnalysis(tenantId, { db, exportDir: config.exportDir })
      console.log(JSON.stringify(r))
    }
  } finally {
    await db.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
