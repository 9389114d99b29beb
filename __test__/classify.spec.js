'use strict'
const { execFileSync } = require('node:child_process')
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')
const { qi } = require('./helpers')
const { writeTinyClassifier } = require('./support/tiny-onnx')

describe('classify', () => {
  test('tells questions from statements, in input order, with P(question)', async () => {
    const messages = [
      { id: 'a', content: 'How do I reset my password?' },
      { id: 'b', content: 'thanks, that worked' },
      { id: 'c', content: 'does it work on windows' },
      { id: 'd', content: 'I pushed the fix to main' },
      { id: 'e', content: 'anyone know why the container keeps restarting' },
      { id: 'f', content: 'lol' },
    ]
    const out = await qi.classify(messages)
    expect(out.map((o) => o.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    const q = Object.fromEntries(out.map((o) => [o.id, o]))
    for (const id of ['a', 'c', 'e']) expect(q[id]).toMatchObject({ isQuestion: true, label: 'question' })
    for (const id of ['b', 'd', 'f']) expect(q[id]).toMatchObject({ isQuestion: false, label: 'statement' })
    for (const o of out) {
      expect(o.confidence).toBeGreaterThanOrEqual(0)
      expect(o.confidence).toBeLessThanOrEqual(1)
      expect(o.isQuestion).toBe(o.confidence >= 0.7)
    }
  })

  test('reads the prose around a paste: a question after a long paste is found, code with ? is not a question', async () => {
    const code = Array.from({ length: 120 }, (_, i) => `  const v${i} = user?.profile ? load(v${i - 1}) : null; // step ${i}`).join('\n')
    const trace = Array.from({ length: 80 }, (_, i) => `    at Object.<anonymous> (/app/src/handler${i}.js:${i + 10}:15)`).join('\n')
    const out = await qi.classify([
      { id: 'after-code', content: '```js\n' + code + '\n```\nwhy does this crash on startup?' },
      { id: 'after-trace', content: 'TypeError: Cannot read properties of undefined\n' + trace + '\nhow do I fix this error?' },
      { id: 'only-code', content: '```js\n' + code + '\n```' },
      { id: 'same-short', content: '[code] why does this crash on startup?' },
    ])
    const q = Object.fromEntries(out.map((o) => [o.id, o]))
    // the question comes after hundreds of tokens of paste, beyond the encoder's 48 tokens
    expect(q['after-code'].isQuestion).toBe(true)
    expect(q['after-trace'].isQuestion).toBe(true)
    // the '?' of optional chaining and ternaries is code, not a question
    expect(q['only-code'].isQuestion).toBe(false)
    // the paste counts as its placeholder: the same P(question) as the reduced text
    expect(q['after-code'].confidence).toBeCloseTo(q['same-short'].confidence, 5)
  })

  test('the threshold decides isQuestion', async () => {
    const msgs = ['does it work on windows', 'maybe it works on windows?', 'it works on windows']
    const base = await qi.classify(msgs)
    for (const t of [0.01, 0.5, 0.99]) {
      const out = await qi.classify(msgs, { threshold: t })
      out.forEach((o, i) => {
        expect(o.confidence).toBeCloseTo(base[i].confidence, 6)
        expect(o.isQuestion).toBe(o.confidence >= t)
      })
    }
    expect((await qi.classify(msgs, { threshold: 0 })).every((o) => o.isQuestion)).toBe(true)
  })

  test('cheap rules skip the model with confidence 0 and a reason', async () => {
    const out = await qi.classify(['', '🙂🙂🎉', 'https://example.com/a?b=1', '<@123456789>', '!play lofi', 'is this a question?'])
    expect(out.map((o) => o.reason)).toEqual(['empty', 'emoji-only', 'links-or-mentions-only', 'links-or-mentions-only', 'bot-command', undefined])
    for (const o of out.slice(0, 5)) expect(o).toMatchObject({ confidence: 0, isQuestion: false, stage: 'rule' })
    expect(out[5].stage).not.toBe('rule')
  })

  test('strings are accepted (their index is the id); the cascade changes no decision', async () => {
    const texts = ['how do I install it?', 'nice', 'where are the docs', 'ok thanks', 'can I run it offline']
    const cascaded = await qi.classify(texts)
    expect(cascaded.map((o) => o.id)).toEqual(['0', '1', '2', '3', '4'])
    const full = await qi.classify(texts, { cascade: false })
    expect(full.every((o) => o.stage === 'encoder')).toBe(true)
    expect(full.map((o) => o.isQuestion)).toEqual(cascaded.map((o) => o.isQuestion))
  })

  test('the lexical stage decides with the band chosen by cross-validation, as the encoder would', async () => {
    const head = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'models', 'classifier', 'question-head.json'), 'utf8'))
    // wider than the old fixed [0.02, 0.98], and no bound inside the thresholds 0.3 … 0.9
    expect(head.band[0]).toBeGreaterThan(0.02)
    expect(head.band[0]).toBeLessThan(0.3)
    expect(head.band[1]).toBeLessThan(0.98)
    expect(head.band[1]).toBeGreaterThan(0.9)
    for (const side of [head.trained.band.low, head.trained.band.high]) expect(side.lexicalErrors).toBeLessThanOrEqual(side.encoderErrors)
    // chat whose lexical P lies between the old band and the chosen one
    const texts = [
      'is there a way to keep logs smaller',
      'anyone here using compose with swarm',
      'has anyone seen this before',
      'not sure why it keeps pulling the old image',
      'could be a permissions problem on the host',
      'you could try restarting it',
    ]
    const cascaded = await qi.classify(texts)
    const full = await qi.classify(texts, { cascade: false })
    const lexical = cascaded.filter((o) => o.stage === 'lexical')
    expect(lexical.length).toBeGreaterThanOrEqual(5)
    expect(lexical.some((o) => o.isQuestion) && lexical.some((o) => !o.isQuestion)).toBe(true)
    for (const o of lexical) expect(o.confidence <= head.band[0] || o.confidence >= head.band[1]).toBe(true)
    expect(cascaded.map((o) => o.isQuestion)).toEqual(full.map((o) => o.isQuestion))
  })

  test('an older head with the fixed band [0.02, 0.98] still loads and classifies with lexical + encoder', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-head-'))
    try {
      const head = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'models', 'classifier', 'question-head.json'), 'utf8'))
      head.band = [0.02, 0.98]
      delete head.trained.band
      const file = path.join(tmp, 'question-head.json')
      fs.writeFileSync(file, JSON.stringify(head))
      const script = `const qi = require(${JSON.stringify(path.join(__dirname, '..'))});
        qi.loadModels({ classifierHead: ${JSON.stringify(file)} })
          .then(() => qi.classify(['is there a way to keep logs smaller', 'you could try restarting it', 'hmm weird']))
          .then((out) => process.stdout.write(JSON.stringify(out)))`
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
      // the narrower band sends the first two to the encoder
      expect(out.map((o) => o.stage)).toEqual(['encoder', 'encoder', 'lexical'])
      expect(out.map((o) => o.isQuestion)).toEqual([true, false, false])
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })

  test('batching does not change results; 100 kB messages are handled', async () => {
    const big = 'stack trace line '.repeat(6000) + ' why does this happen?'
    const texts = ['how do i fix this', big, 'fixed it', 'what version are you on?']
    const a = await qi.classify(texts, { batchSize: 1 })
    const b = await qi.classify(texts, { batchSize: 64 })
    a.forEach((o, i) => expect(o.confidence).toBeCloseTo(b[i].confidence, 4))
  })

  test('bad input rejects naming the field', async () => {
    await expect(qi.classify('hello')).rejects.toMatchObject({ name: 'TypeError', field: 'messages' })
    await expect(qi.classify([{ id: 'a' }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].content' })
    await expect(qi.classify([{ id: 'a', content: 42 }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].content' })
    await expect(qi.classify([{ content: 'x' }])).rejects.toMatchObject({ name: 'TypeError', field: 'messages[0].id' })
    await expect(qi.classify(['x'], { threshold: 1.5 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.classify(['x'], { threshold: NaN })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.classify(['x'], { cascade: 'yes' })).rejects.toMatchObject({ name: 'TypeError', field: 'options.cascade' })
  })

  test('modelInfo names the built-in question head', async () => {
    await qi.classify(['x'])
    expect(qi.modelInfo()).toMatchObject({ classifier: 'question-head' })
    expect(qi.modelInfo().classifierPath).toMatch(/question-head\.json$/)
  })
})

describe('classify with a pluggable sequence-classification model', () => {
  const tokenizerPath = path.join(__dirname, '..', 'models', 'minilm', 'tokenizer.json')
  const run = (dir, label) => {
    const args = [path.join(__dirname, 'support', 'classify-with-model.js'), dir]
    if (label !== undefined) args.push(label)
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }))
  }
  let tmp
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qi-tiny-'))
  })
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

  test('loads model.onnx + tokenizer.json + config.json and finds the question label by name', () => {
    for (const [labels, questionIndex] of [[['STATEMENT', 'QUESTION'], 1], [['QUESTION', 'STATEMENT'], 0]]) {
      const dir = writeTinyClassifier(path.join(tmp, labels.join('-')), { tokenizerPath, labels, questionIndex })
      const { classifier, out, error } = run(dir)
      expect(error).toBeUndefined()
      expect(classifier).toBe('external')
      expect(out.map((o) => o.isQuestion)).toEqual([true, false, false, false, true])
      expect(out[0].stage).toBe('model')
      expect(out[2]).toMatchObject({ reason: 'empty', stage: 'rule' })
      expect(out[3]).toMatchObject({ reason: 'bot-command', stage: 'rule' })
      expect(out[0].confidence).toBeGreaterThan(0.9)
      expect(out[1].confidence).toBeLessThan(0.5)
    }
  })

  test('labels that do not say which is the question need classifierQuestionLabel', () => {
    const dir = writeTinyClassifier(path.join(tmp, 'generic'), { tokenizerPath, labels: ['LABEL_0', 'LABEL_1'], questionIndex: 1 })
    expect(run(dir).error).toMatchObject({ code: 'ERR_MODEL_MISSING' })
    expect(run(dir).error.message).toMatch(/classifierQuestionLabel/)
    const { out } = run(dir, 'LABEL_1')
    expect(out.map((o) => o.isQuestion)).toEqual([true, false, false, false, true])
  })

  test('a missing model folder is a clear error', () => {
    expect(run(path.join(tmp, 'nope')).error).toMatchObject({ code: 'ERR_IO' })
  })
})
