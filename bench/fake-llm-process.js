'use strict'
// The fake OpenAI server of the pipeline benchmarks in a process of its own, as OpenRouter is
// remote: its request handling then counts neither in the measured process's RSS nor on its
// event loop. Forked by bench/pipeline.js; sends { url } once listening, closes on disconnect.
//   fork('bench/fake-llm-process.js', [delayMs])
const { startFakeOpenAI } = require('../__test__/support/fake-openai')

if (require.main === module) {
  startFakeOpenAI({ delayMs: Number(process.argv[2] || 300) }).then((fake) => {
    process.send({ url: fake.url })
    process.on('disconnect', () => fake.close().then(() => process.exit(0)))
  })
}

/** Forks the fake server; resolves to { url, close() }. */
function startFakeLlmProcess(delayMs) {
  const { fork } = require('node:child_process')
  const child = fork(__filename, [String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`fake LLM process exited with ${code}`)))
    child.once('message', ({ url }) =>
      resolve({
        url,
        close: () => new Promise((done) => {
          child.removeAllListeners('exit')
          child.once('exit', done)
          child.disconnect()
        }),
      }),
    )
  })
}

module.exports = { startFakeLlmProcess }
