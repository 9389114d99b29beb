#!/usr/bin/env node
// A tiny static server for the built Insights page (dist/) and a folder of exported data.
//
//   npm run serve -- --data <dir> [--port 4173] [--host 127.0.0.1] [--dist dist]
//
// <dir> is served at /data/. It holds one folder per tenant (<dir>/<tenantId>/questions.json
// and metadata.json), or the two files themselves. The page is opened with
// /?tenant=<tenantId>&data=/data (or /?data=/data for the flat layout).
import { createServer } from 'node:http'
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}

/** The file under `root` for a URL path, or null (outside the root, or not a file). */
function resolveFile(root, urlPath) {
  let rel
  try {
    rel = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (rel.includes('\0')) return null
  const full = resolve(root, '.' + (rel.startsWith('/') ? rel : '/' + rel))
  if (full !== root && !full.startsWith(root + sep)) return null
  let file = full
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html')
    return statSync(file).isFile() ? file : null
  } catch {
    return null
  }
}

/**
 * Starts the server. Resolves to { url, port, close() }.
 * @param {{ dist?: string, data?: string | null, host?: string, port?: number, dataMount?: string }} [options]
 */
export function startServer(options = {}) {
  const here = dirname(fileURLToPath(import.meta.url))
  const dist = resolve(options.dist ?? join(here, '..', 'dist'))
  const data = options.data ? resolve(options.data) : null
  const mount = (options.dataMount ?? '/data').replace(/\/+$/, '')
  const host = options.host ?? '127.0.0.1'
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist}/index.html not found: run \`npm run build\` first`)
  if (data && !existsSync(data)) throw new Error(`data folder ${data} not found`)

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    // One tenant folder in the data: open it from the bare address.
    if (data && path === '/' && !new URL(req.url ?? '/', 'http://x').search) {
      const tenants = findTenants(data)
      if (tenants.length === 1 && tenants[0] !== '') {
        res.writeHead(302, { location: `/?tenant=${encodeURIComponent(tenants[0])}&data=${mount}` }).end()
        return
      }
    }
    let file = null
    if (data && (path === mount || path.startsWith(mount + '/'))) file = resolveFile(data, path.slice(mount.length) || '/')
    else file = resolveFile(dist, path)
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}\n`)
      return
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(file).on('error', () => res.destroy()).pipe(res)
  })

  return new Promise((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address()
      resolvePromise({
        port,
        url: `http://${host}:${port}`,
        close: () => new Promise((r) => server.close(() => r(undefined))),
        server,
      })
    })
  })
}

/** Tenants found in a data folder: sub-folders holding metadata.json or questions.json. */
export function findTenants(data) {
  if (existsSync(join(data, 'metadata.json')) || existsSync(join(data, 'questions.json'))) return ['']
  return readdirSync(data, { withFileTypes: true })
    .filter((d) => d.isDirectory() && ['metadata.json', 'questions.json'].some((f) => existsSync(join(data, d.name, f))))
    .map((d) => d.name)
    .sort()
}

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a)
    if (!m) throw new Error(`unexpected argument ${a}`)
    out[m[1]] = m[2] ?? argv[++i]
    if (out[m[1]] === undefined) throw new Error(`${a} needs a value`)
  }
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  if ('help' in args) {
    console.log('usage: npm run serve -- --data <dir> [--port 4173] [--host 127.0.0.1] [--dist dist]')
    return
  }
  const srv = await startServer({
    data: args.data ?? null,
    dist: args.dist,
    host: args.host ?? '127.0.0.1',
    port: args.port !== undefined ? Number(args.port) : 4173,
  })
  console.log(`Insights page: ${srv.url}/`)
  if (args.data) {
    const tenants = findTenants(resolve(args.data))
    if (tenants.length === 0) console.log(`(no tenant folders with metadata.json or questions.json in ${resolve(args.data)})`)
    for (const t of tenants)
      console.log(`  ${t || '(files in the data folder)'}: ${srv.url}/?${t ? `tenant=${encodeURIComponent(t)}&` : ''}data=/data`)
  } else {
    console.log('No --data folder given: the page reads data/<tenant>/… next to dist/index.html.')
  }
  console.log('Ctrl-C stops the server.')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e.message)
    process.exit(1)
  })
}
