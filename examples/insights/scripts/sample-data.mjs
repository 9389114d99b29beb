#!/usr/bin/env node
// Writes the test fixture tenants (test/fixtures.ts) into a folder, to try the page without
// exported data:  npm run sample-data -- <dir>   then   npm run serve -- --data <dir>
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'

const dir = resolve(process.argv[2] ?? 'sample-data')
const root = fileURLToPath(new URL('..', import.meta.url))
const vite = await createServer({ root, configFile: false, logLevel: 'error', server: { middlewareMode: true, hmr: false, ws: false } })
try {
  const { writeFixtures, tenants } = await vite.ssrLoadModule('/test/fixtures.ts')
  writeFixtures(dir)
  console.log(`wrote ${Object.keys(tenants()).join(', ')} under ${dir}`)
} finally {
  await vite.close()
}
