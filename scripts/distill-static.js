#!/usr/bin/env node
// Distils the static table of the question classifier's static tier from the shipped MiniLM
// encoder (models/minilm/model.onnx + tokenizer.json) and writes models/classifier/static-minilm.bin:
// every vocabulary token encoded alone ([CLS] tok [SEP]), mean-pooled as the embedder does, PCA
// to --dims components, SIF (Zipf) token weights, int8 rows with a scale per row. Deterministic:
// the same encoder gives the same bytes. Nothing is downloaded. Then retrain the head
// (`npm run train:classifier`), which records the table's sha256.
//   npm run distill:static [-- --dims 32 --sif 1e-4 --out models/classifier/static-minilm.bin]
'use strict'
const path = require('node:path')
const qi = require('..')

const args = process.argv.slice(2)
const value = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}

async function main() {
  const out = path.resolve(value('out', path.join(__dirname, '..', 'models', 'classifier', 'static-minilm.bin')))
  const started = Date.now()
  const r = await qi.distillStatic(out, { dims: Number(value('dims', 32)), sif: Number(value('sif', 1e-4)) })
  console.log(`distill: wrote ${r.path}: ${r.vocab} tokens × ${r.dims} dims, ${r.bytes} bytes, ${(100 * r.varianceKept).toFixed(1)} % of the variance, sha256 ${r.sha256} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

main().catch((e) => {
  console.error(`distill: ${e.message}`)
  process.exit(1)
})
