'use strict'
// Pastes for the code-heavy benchmark corpus (bench/realistic.js): code in several languages,
// stack traces in Node, Python, Java and Rust styles, and log excerpts, with long-tailed lengths.
// Everything is drawn from the random source `r` passed in, so a seeded corpus is reproducible.
const { pick } = require('./synthetic')

/** A standard normal draw (Box-Muller). */
const normal = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
/** A discretised log-normal draw with the given median and σ, clipped to [lo, hi]. */
const logNormalInt = (r, median, sigma, lo, hi) =>
  Math.min(hi, Math.max(lo, Math.round(median * Math.exp(sigma * normal(r)))))
const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1))
const weighted = (r, table) => {
  let x = r() * table.reduce((s, [, w]) => s + w, 0)
  for (const [v, w] of table) if ((x -= w) < 0) return v
  return table[table.length - 1][0]
}

/** Lines per paste: median, σ and bounds of the log-normal of each kind. */
const LENGTHS = {
  code: { median: 12, sigma: 0.9, lo: 5, hi: 200 },
  log: { median: 10, sigma: 1.0, lo: 3, hi: 200 },
}

const NOUNS = ['user', 'config', 'client', 'server', 'payload', 'token', 'session', 'result', 'items', 'data', 'options', 'handler', 'request', 'response', 'db', 'cache', 'queue', 'worker', 'guild', 'channel', 'message', 'member', 'role', 'embed', 'interaction', 'command', 'event', 'file', 'path', 'port', 'env', 'container', 'image', 'volume', 'network', 'service', 'job', 'task', 'logger', 'router', 'app', 'pool', 'row', 'record', 'entry', 'value', 'key', 'count', 'index', 'buffer', 'stream', 'socket', 'schema', 'model', 'state', 'props', 'ctx', 'args', 'url', 'headers']
const VERBS = ['get', 'fetch', 'handle', 'parse', 'load', 'build', 'send', 'register', 'create', 'save', 'resolve', 'read', 'write', 'update', 'delete', 'validate', 'render', 'connect', 'init', 'start', 'stop', 'sync', 'process', 'check', 'format', 'apply', 'deploy', 'migrate']
const TYPES = ['User', 'Config', 'Client', 'Server', 'Message', 'Guild', 'Request', 'Response', 'Session', 'Event', 'Command', 'Record', 'Store', 'Pool', 'Handler', 'Worker', 'Job', 'Image', 'Service', 'Embed']
const STRINGS = ['ready', 'messageCreate', 'interactionCreate', 'localhost', '/api/v1/users', 'utf8', 'Bearer ', 'production', 'SELECT 1', 'postgres://db:5432/app', 'config.json', 'hello world', '!ping', 'Content-Type', 'application/json', 'guildMemberAdd', './data', '0.0.0.0', 'redis://cache:6379', 'DISCORD_TOKEN']
const cap = (s) => s[0].toUpperCase() + s.slice(1)
const ident = (r) => (r() < 0.5 ? pick(r, NOUNS) : pick(r, VERBS) + cap(pick(r, NOUNS)))
const snake = (r) => (r() < 0.5 ? pick(r, NOUNS) : `${pick(r, VERBS)}_${pick(r, NOUNS)}`)
const str = (r) => pick(r, STRINGS)
const num = (r) => pick(r, ['0', '1', '2', '10', '30', '100', '404', '500', '1000', '3000', '5432', '8080', '60_000'])

/**
 * Each language: `open(r)` starts a block (one more indent), `close` ends one (null when the
 * language uses indentation alone), `stmt(r)` is one line inside, `header(r)` the first lines.
 */
const LANGS = {
  js: {
    fence: ['js', 'javascript'],
    indent: '  ',
    header: (r) => [`const { ${cap(pick(r, NOUNS))}, ${cap(pick(r, NOUNS))} } = require('${pick(r, ['discord.js', 'express', 'pg', 'axios', 'dotenv', 'mongoose', 'ioredis'])}')`],
    open: (r) => pick(r, [`async function ${ident(r)}(${pick(r, NOUNS)}, ${pick(r, NOUNS)}) {`, `${ident(r)}.on('${str(r)}', async (${pick(r, NOUNS)}) => {`, `if (!${ident(r)}.${pick(r, NOUNS)}) {`, `for (const ${pick(r, NOUNS)} of ${ident(r)}) {`, 'try {', `module.exports = {`]),
    close: '}',
    stmt: (r) => pick(r, [
      `const ${ident(r)} = await ${ident(r)}.${ident(r)}(${pick(r, NOUNS)})`,
      `console.log(${ident(r)}.${pick(r, NOUNS)})`,
      `${ident(r)}.${pick(r, NOUNS)} = ${ident(r)}.${pick(r, NOUNS)} || ${num(r)}`,
      `await ${pick(r, NOUNS)}.reply({ content: '${str(r)}', ephemeral: true })`,
      `return res.status(${num(r)}).json({ ${pick(r, NOUNS)}: ${ident(r)} })`,
      `const ${pick(r, NOUNS)} = process.env.${pick(r, NOUNS).toUpperCase()}`,
      `let ${ident(r)} = [...${ident(r)}].filter((x) => x.${pick(r, NOUNS)} !== ${num(r)})`,
      `throw new Error('${pick(r, VERBS)} failed: ' + ${ident(r)}.${pick(r, NOUNS)})`,
      `// TODO ${pick(r, VERBS)} ${pick(r, NOUNS)} here`,
    ]),
  },
  ts: {
    fence: ['ts', 'typescript'],
    indent: '  ',
    header: (r) => [`import { ${pick(r, TYPES)}, ${pick(r, TYPES)} } from '${pick(r, ['discord.js', '@prisma/client', 'zod', 'express', './types'])}'`, `interface ${pick(r, TYPES)}Options { ${pick(r, NOUNS)}: string; ${pick(r, NOUNS)}?: number }`],
    open: (r) => pick(r, [`export async function ${ident(r)}(${pick(r, NOUNS)}: ${pick(r, TYPES)}): Promise<${pick(r, TYPES)}> {`, `export class ${pick(r, TYPES)}${pick(r, TYPES)} {`, `if (${ident(r)} instanceof ${pick(r, TYPES)}) {`, `const ${ident(r)} = (${pick(r, NOUNS)}: ${pick(r, TYPES)}) => {`]),
    close: '}',
    stmt: (r) => pick(r, [
      `const ${ident(r)}: ${pick(r, TYPES)} = await this.${ident(r)}(${pick(r, NOUNS)})`,
      `private readonly ${pick(r, NOUNS)}: Map<string, ${pick(r, TYPES)}> = new Map()`,
      `return ${ident(r)} as unknown as ${pick(r, TYPES)}`,
      `${ident(r)}?.${pick(r, NOUNS)}?.${ident(r)}(${str(r).length})`,
      `type ${pick(r, TYPES)}Key = keyof typeof ${ident(r)}`,
      `console.error(\`${pick(r, VERBS)} failed for \${${pick(r, NOUNS)}.id}\`)`,
    ]),
  },
  python: {
    fence: ['py', 'python'],
    indent: '    ',
    header: (r) => [`import ${pick(r, ['os', 'asyncio', 'json', 'logging', 'requests', 'discord'])}`, `from ${pick(r, ['discord.ext', 'fastapi', 'sqlalchemy', 'typing', 'pathlib'])} import ${pick(r, TYPES)}`],
    open: (r) => pick(r, [`def ${snake(r)}(${pick(r, NOUNS)}, ${pick(r, NOUNS)}=None):`, `async def ${snake(r)}(self, ${pick(r, NOUNS)}):`, `class ${pick(r, TYPES)}(${pick(r, TYPES)}):`, `for ${pick(r, NOUNS)} in ${snake(r)}:`, `if ${snake(r)} is None:`, 'try:', `with open("${str(r)}") as f:`]),
    close: null,
    stmt: (r) => pick(r, [
      `${snake(r)} = ${snake(r)}.${snake(r)}(${pick(r, NOUNS)})`,
      `print(f"{${pick(r, NOUNS)}} -> {${snake(r)}}")`,
      `return {"${pick(r, NOUNS)}": ${snake(r)}, "${pick(r, NOUNS)}": ${num(r)}}`,
      `await ${pick(r, NOUNS)}.send("${str(r)}")`,
      `self.${pick(r, NOUNS)} = os.environ["${pick(r, NOUNS).toUpperCase()}"]`,
      `raise ValueError("${pick(r, VERBS)} failed")`,
      `${snake(r)} = [x for x in ${snake(r)} if x.${pick(r, NOUNS)}]`,
      `logging.info("%s ${pick(r, VERBS)}", ${pick(r, NOUNS)})`,
    ]),
  },
  rust: {
    fence: ['rs', 'rust'],
    indent: '    ',
    header: (r) => [`use ${pick(r, ['std::collections::HashMap', 'serde::Deserialize', 'tokio::sync::Mutex', 'anyhow::Result', 'serenity::prelude::*'])};`],
    open: (r) => pick(r, [`pub async fn ${snake(r)}(${pick(r, NOUNS)}: &${pick(r, TYPES)}) -> Result<${pick(r, TYPES)}> {`, `impl ${pick(r, TYPES)} {`, `match ${snake(r)} {`, `for ${pick(r, NOUNS)} in ${snake(r)}.iter() {`, `if let Some(${pick(r, NOUNS)}) = ${snake(r)}.get(&${pick(r, NOUNS)}) {`, `struct ${pick(r, TYPES)} {`]),
    close: '}',
    stmt: (r) => pick(r, [
      `let ${snake(r)} = ${snake(r)}.${snake(r)}(&${pick(r, NOUNS)})?;`,
      `let mut ${pick(r, NOUNS)}: Vec<${pick(r, TYPES)}> = Vec::new();`,
      `println!("{:?}", ${snake(r)});`,
      `${pick(r, NOUNS)}: ${pick(r, ['String', 'u64', 'Option<String>', 'Vec<u8>', 'Arc<Mutex<State>>'])},`,
      `Ok(${pick(r, TYPES)}::new(${snake(r)}.clone()))`,
      `${snake(r)}.lock().await.insert(${pick(r, NOUNS)}.id, ${pick(r, NOUNS)});`,
      `Err(e) => return Err(e.into()),`,
    ]),
  },
  java: {
    fence: ['java'],
    indent: '    ',
    header: (r) => [`import ${pick(r, ['java.util.List', 'java.util.Map', 'org.springframework.web.bind.annotation.*', 'net.dv8tion.jda.api.JDA'])};`],
    open: (r) => pick(r, [`public class ${pick(r, TYPES)}${pick(r, TYPES)} {`, `public ${pick(r, TYPES)} ${ident(r)}(${pick(r, TYPES)} ${pick(r, NOUNS)}) throws Exception {`, `for (${pick(r, TYPES)} ${pick(r, NOUNS)} : ${ident(r)}) {`, `if (${ident(r)} == null) {`, 'try {']),
    close: '}',
    stmt: (r) => pick(r, [
      `${pick(r, TYPES)} ${ident(r)} = ${ident(r)}.${ident(r)}(${pick(r, NOUNS)});`,
      `System.out.println(${ident(r)}.get${cap(pick(r, NOUNS))}());`,
      `private final Map<String, ${pick(r, TYPES)}> ${pick(r, NOUNS)} = new HashMap<>();`,
      `return ResponseEntity.ok(${ident(r)});`,
      `@Autowired private ${pick(r, TYPES)}Repository ${pick(r, NOUNS)}Repository;`,
      `throw new IllegalStateException("${pick(r, VERBS)} failed");`,
    ]),
  },
  go: {
    fence: ['go'],
    indent: '\t',
    header: (r) => ['package main', '', `import (\n\t"${pick(r, ['fmt', 'net/http', 'encoding/json', 'context'])}"\n\t"${pick(r, ['os', 'log', 'time', 'database/sql'])}"\n)`],
    open: (r) => pick(r, [`func ${ident(r)}(${pick(r, NOUNS)} *${pick(r, TYPES)}) (${pick(r, TYPES)}, error) {`, `if err != nil {`, `for _, ${pick(r, NOUNS)} := range ${ident(r)} {`, `type ${pick(r, TYPES)} struct {`]),
    close: '}',
    stmt: (r) => pick(r, [
      `${ident(r)}, err := ${ident(r)}.${cap(ident(r))}(ctx, ${pick(r, NOUNS)})`,
      `return nil, fmt.Errorf("${pick(r, VERBS)}: %w", err)`,
      `log.Printf("%v", ${ident(r)})`,
      `${cap(pick(r, NOUNS))} string \`json:"${pick(r, NOUNS)}"\``,
      `defer ${pick(r, NOUNS)}.Close()`,
    ]),
  },
  yaml: {
    fence: ['yaml', 'yml'],
    indent: '  ',
    header: (r) => [pick(r, ["version: '3.8'", 'apiVersion: apps/v1', 'name: CI']), pick(r, ['services:', 'kind: Deployment', 'on: [push]'])],
    open: (r) => pick(r, [`${pick(r, NOUNS)}:`, 'environment:', 'volumes:', 'ports:', 'steps:', 'spec:']),
    close: null,
    stmt: (r) => pick(r, [
      `image: ${pick(r, ['node:20-alpine', 'postgres:16', 'redis:7', 'nginx:latest', 'ghcr.io/acme/bot:1.4.2'])}`,
      `- "${int(r, 3000, 9000)}:${int(r, 80, 8080)}"`,
      `- ./${pick(r, NOUNS)}:/app/${pick(r, NOUNS)}`,
      `${pick(r, NOUNS).toUpperCase()}_URL: ${str(r)}`,
      `depends_on: [${pick(r, NOUNS)}]`,
      'restart: unless-stopped',
      `- run: npm ${pick(r, ['ci', 'test', 'run build'])}`,
    ]),
  },
  dockerfile: {
    fence: ['dockerfile', 'Dockerfile'],
    indent: '',
    header: (r) => [`FROM ${pick(r, ['node:20-alpine', 'python:3.12-slim', 'rust:1.80 AS build', 'ubuntu:22.04'])}`, 'WORKDIR /app'],
    open: () => 'RUN set -eux; \\',
    close: null,
    stmt: (r) => pick(r, [
      'COPY package*.json ./',
      `RUN ${pick(r, ['npm ci --omit=dev', 'pip install -r requirements.txt', 'apt-get update && apt-get install -y curl', 'cargo build --release'])}`,
      'COPY . .',
      `ENV ${pick(r, NOUNS).toUpperCase()}=${str(r)}`,
      `EXPOSE ${int(r, 3000, 9000)}`,
      `CMD ["${pick(r, ['node', 'python', './bot'])}", "${pick(r, ['index.js', 'main.py', '--serve'])}"]`,
    ]),
  },
  bash: {
    fence: ['sh', 'bash', 'console'],
    indent: '  ',
    header: () => [],
    open: (r) => pick(r, [`for f in ${pick(r, NOUNS)}/*; do`, `if [ -z "$${pick(r, NOUNS).toUpperCase()}" ]; then`]),
    close: 'done',
    stmt: (r) => pick(r, [
      `$ docker ${pick(r, ['ps -a', 'logs -f web', 'compose up -d --build', 'exec -it db psql -U postgres', 'image prune -a'])}`,
      `$ ${pick(r, ['npm install', 'npm run dev', 'pip install discord.py', 'cargo run', 'sudo systemctl restart docker', 'node index.js'])}`,
      `export ${pick(r, NOUNS).toUpperCase()}=${str(r)}`,
      `curl -s -H "Authorization: Bearer $TOKEN" https://api.example.com/${pick(r, NOUNS)}/${int(r, 1, 999)}`,
      `ls -la /var/lib/${pick(r, NOUNS)}`,
    ]),
  },
  json: {
    fence: ['json'],
    indent: '  ',
    header: () => ['{'],
    open: (r) => `"${pick(r, NOUNS)}": {`,
    close: '},',
    stmt: (r) => pick(r, [`"${pick(r, NOUNS)}": "${str(r)}",`, `"${pick(r, NOUNS)}": ${num(r)},`, `"${pick(r, NOUNS)}": [${num(r)}, ${num(r)}],`, `"${pick(r, NOUNS)}": true,`]),
  },
  sql: {
    fence: ['sql'],
    indent: '  ',
    header: () => [],
    open: (r) => `CREATE TABLE ${snake(r)} (`,
    close: ');',
    stmt: (r) => pick(r, [
      `SELECT ${snake(r)}, COUNT(*) FROM ${snake(r)} WHERE ${snake(r)} = $1 GROUP BY 1;`,
      `${snake(r)} ${pick(r, ['BIGINT PRIMARY KEY', 'TEXT NOT NULL', 'TIMESTAMPTZ DEFAULT now()', 'JSONB'])},`,
      `INSERT INTO ${snake(r)} (${snake(r)}, ${snake(r)}) VALUES ($1, $2) ON CONFLICT DO NOTHING;`,
      `UPDATE ${snake(r)} SET ${snake(r)} = ${num(r)} WHERE id = $1;`,
    ]),
  },
}
/** Share of each language among code pastes (a programming-help server's mix). */
const LANG_MIX = [['js', 22], ['python', 22], ['ts', 12], ['java', 8], ['yaml', 8], ['rust', 6], ['go', 5], ['dockerfile', 5], ['bash', 5], ['json', 4], ['sql', 3]]

function codeLines(r, lang, n) {
  const L = LANGS[lang]
  const out = L.header(r).flatMap((l) => l.split('\n')).slice(0, n)
  let depth = 0
  while (out.length < n) {
    const left = n - out.length
    const ind = L.indent.repeat(depth)
    if (depth > 0 && (r() < 0.15 || left <= depth)) {
      depth--
      if (L.close) out.push(L.indent.repeat(depth) + L.close)
    } else if (depth < 4 && left > depth + 2 && r() < 0.2) {
      out.push(ind + L.open(r))
      depth++
    } else {
      out.push(ind + L.stmt(r))
    }
  }
  return out
}

const ERRORS = {
  node: ["TypeError: Cannot read properties of undefined (reading '%s')", 'Error: connect ECONNREFUSED 127.0.0.1:5432', 'DiscordAPIError[50013]: Missing Permissions', "Error: Cannot find module '%s'", 'ReferenceError: %s is not defined', 'SyntaxError: Unexpected token } in JSON at position 42', 'Error [ERR_REQUIRE_ESM]: require() of ES Module not supported', 'UnhandledPromiseRejection: This error originated either by throwing inside of an async function'],
  python: ["AttributeError: 'NoneType' object has no attribute '%s'", "KeyError: '%s'", "ModuleNotFoundError: No module named '%s'", 'discord.errors.Forbidden: 403 Forbidden (error code: 50013): Missing Permissions', 'TypeError: object of type int has no len()', 'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not connect to server: Connection refused', 'RuntimeError: Event loop is closed'],
  java: ['java.lang.NullPointerException: Cannot invoke "%s.getId()" because "this.%s" is null', 'java.lang.IllegalStateException: Failed to load ApplicationContext', 'org.springframework.beans.factory.BeanCreationException: Error creating bean with name \'%s\'', 'java.net.ConnectException: Connection refused', 'java.lang.ClassNotFoundException: com.example.%s'],
  rust: ['called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound, message: "No such file or directory" }', 'called `Option::unwrap()` on a `None` value', 'index out of bounds: the len is 0 but the index is 0', 'failed to connect to %s: Connection refused (os error 111)'],
}
const fill = (r, s) => s.replace(/%s/g, () => ident(r))

function stackTrace(r) {
  const style = weighted(r, [['node', 40], ['python', 30], ['java', 20], ['rust', 10]])
  const lines = []
  if (style === 'node') {
    lines.push(fill(r, pick(r, ERRORS.node)))
    const frames = logNormalInt(r, 8, 0.5, 3, 40)
    for (let i = 0; i < frames; i++) {
      lines.push(r() < 0.4
        ? `    at ${pick(r, ['processTicksAndRejections', 'Module._compile', 'Object.<anonymous>', 'new Promise (<anonymous>)', 'async Promise.all (index 0)'])} (node:internal/${pick(r, ['process/task_queues', 'modules/cjs/loader', 'timers'])}:${int(r, 10, 1300)}:${int(r, 1, 40)})`
        : `    at ${pick(r, TYPES)}.${ident(r)} (/app/${pick(r, ['src', 'node_modules/discord.js/src', 'dist', 'node_modules/pg/lib'])}/${ident(r)}.js:${int(r, 1, 900)}:${int(r, 1, 60)})`)
    }
  } else if (style === 'python') {
    lines.push('Traceback (most recent call last):')
    const frames = logNormalInt(r, 4, 0.6, 1, 30)
    for (let i = 0; i < frames; i++) {
      lines.push(`  File "${pick(r, ['/app/', '/usr/local/lib/python3.12/site-packages/discord/', '/home/user/bot/', 'C:\\Users\\me\\project\\'])}${snake(r)}.py", line ${int(r, 1, 900)}, in ${snake(r)}`)
      lines.push(`    ${LANGS.python.stmt(r)}`)
    }
    lines.push(fill(r, pick(r, ERRORS.python)))
  } else if (style === 'java') {
    lines.push(`Exception in thread "main" ${fill(r, pick(r, ERRORS.java))}`)
    const frames = logNormalInt(r, 18, 0.7, 5, 120)
    for (let i = 0; i < frames; i++) lines.push(`\tat ${pick(r, ['com.example', 'org.springframework.beans', 'net.dv8tion.jda.internal', 'java.base/java.util'])}.${pick(r, TYPES)}.${ident(r)}(${pick(r, TYPES)}.java:${int(r, 1, 900)})`)
    if (r() < 0.4) {
      lines.push(`Caused by: ${fill(r, pick(r, ERRORS.java))}`)
      for (let i = logNormalInt(r, 5, 0.5, 2, 30); i > 0; i--) lines.push(`\tat com.example.${pick(r, TYPES)}.${ident(r)}(${pick(r, TYPES)}.java:${int(r, 1, 900)})`)
      lines.push(`\t... ${int(r, 5, 80)} more`)
    }
  } else {
    lines.push(`thread '${pick(r, ['main', 'tokio-runtime-worker', '<unnamed>'])}' panicked at src/${snake(r)}.rs:${int(r, 1, 400)}:${int(r, 1, 60)}:`)
    lines.push(fill(r, pick(r, ERRORS.rust)))
    if (r() < 0.6) {
      lines.push('note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace')
    } else {
      lines.push('stack backtrace:')
      const frames = logNormalInt(r, 14, 0.5, 5, 60)
      for (let i = 0; i < frames; i++) {
        lines.push(`  ${String(i).padStart(2)}: ${pick(r, ['std::panicking::begin_panic_handler', 'core::result::unwrap_failed', 'tokio::runtime::task::harness', 'app'])}::${snake(r)}`)
        lines.push(`             at ./src/${snake(r)}.rs:${int(r, 1, 400)}:${int(r, 1, 60)}`)
      }
    }
  }
  return { style, lines }
}

function logLines(r) {
  const style = weighted(r, [['compose', 30], ['app', 25], ['nginx', 10], ['journald', 10], ['npm', 15], ['build', 10]])
  const n = logNormalInt(r, LENGTHS.log.median, LENGTHS.log.sigma, LENGTHS.log.lo, LENGTHS.log.hi)
  let t = Date.UTC(2026, 9, int(r, 1, 28), int(r, 0, 23), int(r, 0, 59), int(r, 0, 59))
  const ts = () => new Date((t += int(r, 0, 4000))).toISOString()
  const level = () => weighted(r, [['INFO', 60], ['WARN', 15], ['ERROR', 15], ['DEBUG', 10]])
  const msg = () => `${pick(r, VERBS)} ${pick(r, NOUNS)} ${pick(r, ['ok', 'failed', 'retrying in 5s', 'took 1834ms', 'timed out after 30000ms', 'connection reset by peer', 'listening on 0.0.0.0:8080', 'shard 0 ready', 'rate limited, retry_after=1.2'])}`
  const svc = pick(r, ['web-1', 'bot-1', 'db-1', 'api_1', 'worker-1'])
  const lines = []
  for (let i = 0; i < n; i++) {
    switch (style) {
      case 'compose': lines.push(`${svc.padEnd(8)} | ${ts()} ${level()} ${msg()}`); break
      case 'app': lines.push(r() < 0.5 ? `${ts()} [${level()}] ${msg()}` : JSON.stringify({ level: level().toLowerCase(), time: ts(), msg: msg(), [pick(r, NOUNS)]: int(r, 1, 99999) })); break
      case 'nginx': lines.push(`172.18.0.${int(r, 1, 9)} - - [${new Date(t += 900).toUTCString()}] "${pick(r, ['GET', 'POST'])} /${pick(r, NOUNS)}/${int(r, 1, 999)} HTTP/1.1" ${pick(r, [200, 200, 304, 404, 499, 502, 504])} ${int(r, 0, 9000)} "-" "Mozilla/5.0"`); break
      case 'journald': lines.push(`Oct ${String(int(r, 1, 28)).padStart(2, '0')} 12:${String(int(r, 0, 59)).padStart(2, '0')}:${String(int(r, 0, 59)).padStart(2, '0')} host dockerd[${int(r, 800, 2000)}]: time="${ts()}" level=${level().toLowerCase()} msg="${msg()}"`); break
      case 'npm': lines.push(i === 0 ? `npm ERR! code ${pick(r, ['ERESOLVE', 'ENOENT', 'EACCES', 'ELIFECYCLE'])}` : `npm ERR! ${pick(r, ['While resolving:', 'Found:', 'Could not resolve dependency:', 'peer', 'node_modules/'])} ${pick(r, ['discord.js', 'react', 'typescript', '@types/node'])}@${int(r, 1, 20)}.${int(r, 0, 9)}.${int(r, 0, 9)}`); break
      default: lines.push(`${pick(r, ['#8', 'Step', ' ---> Running in', '   Compiling', 'error[E0' + int(r, 100, 599) + ']:', 'warning:'])} ${pick(r, ['[build 3/7] RUN npm ci', `${snake(r)} v0.${int(r, 1, 30)}.${int(r, 0, 9)}`, 'a3f9c2d1e0b4', `mismatched types in src/${snake(r)}.rs`, 'unused variable'])}`)
    }
  }
  return { style, lines }
}

/**
 * One paste: `{kind: 'code'|'trace'|'log', style, lines, text}`; `text` is fenced or bare.
 * Kinds: code 50 %, stack trace 25 %, log 25 %; fenced 85 % / 60 % / 70 % of the time.
 */
function paste(r) {
  const kind = weighted(r, [['code', 50], ['trace', 25], ['log', 25]])
  let p
  if (kind === 'code') {
    const lang = weighted(r, LANG_MIX)
    const n = logNormalInt(r, LENGTHS.code.median, LENGTHS.code.sigma, LENGTHS.code.lo, LENGTHS.code.hi)
    p = { style: lang, lines: codeLines(r, lang, n) }
  } else {
    p = kind === 'trace' ? stackTrace(r) : logLines(r)
  }
  const fenced = r() < { code: 0.85, trace: 0.6, log: 0.7 }[kind]
  const tag = fenced && kind === 'code' && r() < 0.7 ? pick(r, LANGS[p.style].fence) : fenced && r() < 0.3 ? pick(r, ['txt', 'log', 'sh']) : ''
  return { kind, style: p.style, lines: p.lines, fenced, tag }
}

/** The paste as chat text, cut into pieces that each fit `maxChars` (a split fenced paste is re-fenced). */
function pasteChunks(p, maxChars) {
  const open = p.fenced ? '```' + p.tag + '\n' : ''
  const close = p.fenced ? '\n```' : ''
  const chunks = []
  let cur = []
  let len = 0
  for (const line of p.lines) {
    const l = line.length > maxChars - 20 ? line.slice(0, maxChars - 20) : line
    if (cur.length && len + l.length + 1 + open.length + close.length > maxChars) {
      chunks.push(open + cur.join('\n') + close)
      cur = []
      len = 0
    }
    cur.push(l)
    len += l.length + 1
  }
  if (cur.length) chunks.push(open + cur.join('\n') + close)
  return chunks
}

/** A short command or name as inline code (Gitter's `[<-CODE->]` markers of one-liners). */
function inlineCode(r) {
  return '`' + pick(r, [
    `docker run --rm -it -v $(pwd):/app ${pick(r, ['node:20', 'python:3.12', 'ubuntu:22.04'])} bash`,
    `docker ${pick(r, ['ps -a', 'logs web', 'inspect db', 'network ls', 'system prune'])}`,
    `docker-compose ${pick(r, ['up -d', 'down -v', 'build --no-cache', 'logs -f'])}`,
    `${pick(r, NOUNS)}.${ident(r)}()`,
    `ENTRYPOINT ["/entrypoint.sh"]`,
    `-p ${int(r, 3000, 9000)}:${int(r, 80, 8080)}`,
    `sudo ${pick(r, ['apt-get install -y docker-ce', 'usermod -aG docker $USER', 'systemctl restart docker'])}`,
    `${pick(r, NOUNS).toUpperCase()}=${str(r)}`,
  ]) + '`'
}

const INTROS = ['here is my code:', 'this is the error I get:', "here's the log:", 'full output:', 'my compose file:', 'I get this:', 'stack trace:', 'code:', 'this is what it prints']
const OUTROS = ['any idea?', 'what am I doing wrong?', 'thanks in advance', 'it worked yesterday', 'help pls', 'same thing on my laptop']

module.exports = { paste, pasteChunks, inlineCode, logNormalInt, weighted, int, INTROS, OUTROS, LENGTHS, LANG_MIX }
