/** `node dist/src/cli/migrate.js [up|down|down-all]` — default up (to the latest migration). */
import { loadConfig } from '../config'
import { createDb } from '../db/index'
import { migrateDown, migrateToLatest } from '../db/migrate'

async function main(): Promise<void> {
  const config = loadConfig()
  const db = createDb(config)
  const cmd = process.argv[2] ?? 'up'
  try {
    let ran: string[]
    if (cmd === 'up') ran = await migrateToLatest(db, config.databaseSchema)
    else if (cmd === 'down') ran = await migrateDown(db, config.databaseSchema)
    else if (cmd === 'down-all') ran = await migrateDown(db, config.databaseSchema, { all: true })
    else throw new Error(`unknown command ${cmd}: use up, down or down-all`)
    console.log(ran.length ? ran.join('\n') : 'nothing to do')
  } finally {
    await db.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
