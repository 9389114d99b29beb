'use strict'
// Writes a tiny Hugging Face-style sequence-classification model for the pluggable-model tests:
// model.onnx (hand-encoded ONNX protobuf, opset 11), tokenizer.json (the MiniLM tokenizer) and
// config.json with id2label. Its logits are the mask-weighted mean of a per-token table in
// which '?' votes strongly for the question label and every other token mildly for the other:
// texts with a '?' come out as questions, texts without as statements.
const fs = require('node:fs')
const path = require('node:path')

// --- a minimal protobuf writer -------------------------------------------------------------
function varint(n) {
  const out = []
  let v = BigInt(n)
  if (v < 0n) v += 1n << 64n
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return Buffer.from(out)
}
const key = (field, wire) => varint((field << 3) | wire)
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)])
const bytes = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf])
const str = (field, s) => bytes(field, Buffer.from(s, 'utf8'))
const msg = (field, ...parts) => bytes(field, Buffer.concat(parts))

// --- ONNX messages -------------------------------------------------------------------------
const FLOAT = 1
const INT64 = 7
const attrInt = (name, i) => msg(5, str(1, name), int(3, i), int(20, 2))
const attrInts = (name, xs) => msg(5, str(1, name), ...xs.map((x) => int(8, x)), int(20, 7))
const node = (op, inputs, outputs, ...attrs) => msg(1, ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs)
const dim = (d) => msg(1, typeof d === 'string' ? str(2, d) : int(1, d))
const valueInfo = (field, name, elemType, dims) => msg(field, str(1, name), msg(2, msg(1, int(1, elemType), msg(2, ...dims.map(dim)))))

function floatTensor(name, dims, values) {
  const raw = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => raw.writeFloatLE(v, i * 4))
  return msg(5, ...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, raw))
}

/**
 * Writes the model folder. `labels` are the id2label names; `questionIndex` is the column of
 * the logits that '?' votes for.
 */
function writeTinyClassifier(dir, { tokenizerPath, labels = ['STATEMENT', 'QUESTION'], questionIndex = 1 } = {}) {
  fs.mkdirSync(dir, { recursive: true })
  const tokenizer = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'))
  const vocab = tokenizer.model.vocab
  const size = Object.keys(vocab).length
  const table = new Array(size * labels.length).fill(0)
  for (let t = 0; t < size; t++) table[t * labels.length + (1 - questionIndex)] = 1
  table[vocab['?'] * labels.length + questionIndex] = 40
  const graph = Buffer.concat([
    node('Gather', ['table', 'input_ids'], ['emb']),
    node('Cast', ['attention_mask'], ['maskf'], attrInt('to', FLOAT)),
    node('Unsqueeze', ['maskf'], ['mask3'], attrInts('axes', [2])),
    node('Mul', ['emb', 'mask3'], ['masked']),
    node('ReduceSum', ['masked'], ['summed'], attrInts('axes', [1]), attrInt('keepdims', 0)),
    node('ReduceSum', ['maskf'], ['count'], attrInts('axes', [1]), attrInt('keepdims', 1)),
    node('Div', ['summed', 'count'], ['logits']),
    str(2, 'tiny-question-classifier'),
    floatTensor('table', [size, labels.length], table),
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(12, 'logits', FLOAT, ['batch', labels.length]),
  ])
  const model = Buffer.concat([int(1, 7), str(2, 'question-insights tests'), bytes(7, graph), msg(8, str(1, ''), int(2, 11))])
  fs.writeFileSync(path.join(dir, 'model.onnx'), model)
  fs.copyFileSync(tokenizerPath, path.join(dir, 'tokenizer.json'))
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]))
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['TinyForSequenceClassification'], id2label }))
  return dir
}

module.exports = { writeTinyClassifier }
