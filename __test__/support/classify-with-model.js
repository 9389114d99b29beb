'use strict'
// Child process for the pluggable-model tests: models load once per process, so a test that
// swaps in classifierModel runs here. argv: modelDir [questionLabel]; prints the JSON result.
const qi = require('../..')

async function main() {
  const [dir, questionLabel] = process.argv.slice(2)
  const info = await qi.loadModels({ classifierModel: dir, classifierQuestionLabel: questionLabel })
  const texts = JSON.parse(process.argv[4] || '["is this a question?", "hello there friends", "", "!play lofi", "what about v2?"]')
  const out = await qi.classify(texts)
  process.stdout.write(JSON.stringify({ classifier: info.classifier, out }))
}
main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: { message: e.message, code: e.code } }))
})
