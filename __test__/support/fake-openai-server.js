#!/usr/bin/env node
'use strict';
/**
 * CLI wrapper around fake-openai.js for benchmarks and worker processes:
 *
 *   node __test__/support/fake-openai-server.js --port 0 --delay 300 \
 *     [--mode ok] [--fault-rate 0.3] [--seed 42] [--retry-after 1] [--fail-models a/b,c/d]
 *
 * Prints one JSON line {"url": "http://127.0.0.1:PORT/api/v1", "port": PORT} on stdout
 * once listening, then serves until SIGINT/SIGTERM.
 * Stats: GET {url-origin}/__stats ; change mode: POST {url-origin}/__mode?mode=500
 */
const { startFakeOpenAI } = require('./fake-openai');

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i];
    const val = argv[i + 1];
    const need = () => {
      if (val === undefined) throw new Error(`missing value for ${key}`);
      i += 1;
      return val;
    };
    switch (key) {
      case '--port': opts.port = Number(need()); break;
      case '--delay': opts.delayMs = Number(need()); break;
      case '--mode': opts.mode = need(); break;
      case '--fault-rate': opts.faultRate = Number(need()); break;
      case '--seed': opts.seed = Number(need()); break;
      case '--retry-after': opts.retryAfterSec = Number(need()); break;
      case '--fail-models': opts.failModels = need().split(',').filter(Boolean); break;
      case '--help':
        process.stdout.write('usage: fake-openai-server.js [--port N] [--delay MS] [--mode M] '
          + '[--fault-rate R] [--seed S] [--retry-after SEC] [--fail-models a,b]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument: ${key}`);
    }
  }
  return opts;
}

async function main() {
  const fake = await startFakeOpenAI(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ url: fake.url, port: fake.port })}\n`);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
