'use strict'
// The API contract: every options object is read from the same #[napi(object)] struct that
// generates index.d.ts, so an unknown key, a wrong type or NaN rejects naming the field, and a
// key given in the wrong block says where it belongs.
const { qi } = require('./helpers')

const month = { tenantId: 't', month: '2026-10', messages: [] }
const unknown = (field, message) => ({ name: 'TypeError', code: 'ERR_UNKNOWN_OPTION', field, message })

describe('options: one contract for every public function', () => {
  test('an unknown key rejects in every function that takes options, naming the key and the function', async () => {
    const calls = [
      ['loadModels()', () => qi.loadModels({ modelDir: '/x' }), 'options.modelDir', 'did you mean options.modelsDir?'],
      ['embed()', () => qi.embed(['x'], { batch: 8 }), 'options.batch', 'did you mean options.batchSize?'],
      ['classify()', () => qi.classify(['x'], { treshold: 0.5 }), 'options.treshold', 'did you mean options.threshold?'],
      ['dedupe()', () => qi.dedupe(['x'], { linkage: 'ward' }), 'options.linkage', ''],
      ['cluster()', () => qi.cluster(['x'], { minClusterSise: 2 }), 'options.minClusterSise', 'did you mean options.minClusterSize?'],
      ['trainClassifier()', () => qi.trainClassifier([{ text: 'x', isQuestion: true }], { iteration: 5 }), 'options.iteration', 'did you mean options.iterations?'],
      ['extract()', () => qi.extract([], { apiKey: 'k' }), 'options.apiKey', 'did you mean options.llm.apiKey?'],
      ['analyzeTenant()', () => qi.analyzeTenant({ ...month, options: { baseUrl: 'http://x' } }), 'options.baseUrl', 'did you mean options.llm.baseUrl?'],
      ['conversations()', () => qi.conversations([], { maxGap: 5 }), 'options.maxGap', 'did you mean options.maxGapMs?'],
      ['trainLinker()', () => qi.trainLinker([], { l3: 1 }), 'options.l3', 'did you mean options.l2?'],
      ['asks()', () => qi.asks([], { questionTreshold: 0.5 }), 'options.questionTreshold', 'did you mean options.questionThreshold?'],
      ['trainAsks()', () => qi.trainAsks([], { fold: 5 }), 'options.fold', 'did you mean options.folds?'],
    ]
    for (const [fn, call, field, hint] of calls) {
      const e = await call().then(() => null, (err) => err)
      expect(e).toMatchObject({ name: 'TypeError', code: 'ERR_UNKNOWN_OPTION', field })
      expect(e.message.startsWith(`${field} is not an option of ${fn}`)).toBe(true)
      if (hint) expect(e.message.endsWith(`; ${hint}`)).toBe(true)
    }
  })

  test('the suggestion: the same key in a nested block, else the nearest spelling, else the list', async () => {
    await expect(qi.extract([], { apiKey: 'k' })).rejects.toMatchObject(
      unknown('options.apiKey', 'options.apiKey is not an option of extract(); did you mean options.llm.apiKey?'),
    )
    await expect(qi.classify(['x'], { treshold: 0.5 })).rejects.toMatchObject(
      unknown('options.treshold', 'options.treshold is not an option of classify(); did you mean options.threshold?'),
    )
    // a key of the top level given inside a nested block, and a misspelling inside one
    await expect(qi.extract([], { llm: { questionsPerRequest: 2 } })).rejects.toMatchObject(
      unknown('options.llm.questionsPerRequest', 'options.llm.questionsPerRequest is not an option of extract(); did you mean options.questionsPerRequest?'),
    )
    await expect(qi.extract([], { llm: { timeout: 1000 } })).rejects.toMatchObject(
      unknown('options.llm.timeout', 'options.llm.timeout is not an option of extract(); did you mean options.llm.timeoutMs?'),
    )
    await expect(qi.analyzeTenant({ ...month, options: { cluster: { linkag: 'ward' } } })).rejects.toMatchObject(
      unknown('options.cluster.linkag', 'options.cluster.linkag is not an option of analyzeTenant(); did you mean options.cluster.linkage?'),
    )
    await expect(qi.analyzeTenant({ ...month, options: { linkage: 'ward' } })).rejects.toMatchObject(
      unknown('options.linkage', 'options.linkage is not an option of analyzeTenant(); did you mean options.cluster.linkage?'),
    )
    await expect(qi.analyzeTenant({ ...month, options: { llm: { apikey: 'k' } } })).rejects.toMatchObject(
      unknown('options.llm.apikey', 'options.llm.apikey is not an option of analyzeTenant(); did you mean options.llm.apiKey?'),
    )
    // the input object itself: options given at the top level
    await expect(qi.analyzeTenant({ ...month, llm: { apiKey: 'k' } })).rejects.toMatchObject(
      unknown('llm', 'llm is not an option of analyzeTenant(); did you mean options.llm?'),
    )
    // nothing close: the message lists the options
    await expect(qi.embed(['x'], { zzzzzz: 1 })).rejects.toMatchObject(
      unknown('options.zzzzzz', 'options.zzzzzz is not an option of embed() (its options: maxTokens, batchSize, precision)'),
    )
  })

  test('keys that are typed but were not read, and keys that were read but not typed, are both options now', async () => {
    // backoffBaseMs (llm), maxTokens and selfContainedMinConfidence (analyzeTenant) are checked like the others
    await expect(qi.extract([], { llm: { backoffBaseMs: -1 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.llm.backoffBaseMs' })
    await expect(qi.analyzeTenant({ ...month, options: { maxTokens: 1 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.maxTokens' })
    await expect(qi.analyzeTenant({ ...month, options: { selfContainedMinConfidence: 2 } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.selfContainedMinConfidence' })
  })

  test('wrong types and NaN name the field, nested ones included; undefined values are absent', async () => {
    await expect(qi.extract([], { llm: { timeoutMs: '5' } })).rejects.toMatchObject({
      name: 'TypeError',
      field: 'options.llm.timeoutMs',
      message: 'options.llm.timeoutMs: must be an integer, got a string',
    })
    await expect(qi.extract([], { llm: { timeoutMs: NaN } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.llm.timeoutMs' })
    await expect(qi.extract([], { llm: { fallbackModels: ['a', 2] } })).rejects.toMatchObject({ name: 'TypeError', field: 'options.llm.fallbackModels[1]' })
    await expect(qi.analyzeTenant({ ...month, options: { cluster: { linkage: 'median' } } })).rejects.toMatchObject({ name: 'RangeError', field: 'options.cluster.linkage' })
    await expect(qi.analyzeTenant({ ...month, options: { llm: 'key' } })).rejects.toMatchObject({ name: 'TypeError', field: 'options.llm' })
    await expect(qi.analyzeTenant({ ...month, month: 202610 })).rejects.toMatchObject({ name: 'TypeError', field: 'month' })
    const out = await qi.extract([], { llm: { apiKey: undefined }, questionsPerRequest: undefined })
    expect(out.results).toEqual([])
  })

  test('analyzeTenant accepts batchSize up to the pipeline limit, 100000 included, with the same result', async () => {
    const at = Date.parse('2026-10-05T12:00:00Z')
    const messages = [
      { id: 'a', authorId: 'alice', channelId: 'help', content: 'how do I reset my password?', timestamp: at },
      { id: 'b', authorId: 'bob', channelId: 'help', content: 'how can I reset my password', timestamp: at + 3600_000 },
      { id: 'c', authorId: 'carol', channelId: 'help', content: 'the weather is nice today', timestamp: at + 7200_000 },
    ]
    const run = (batchSize) => qi.analyzeTenant({ ...month, messages, options: { batchSize, llm: { apiKey: '' }, includeAllClassifications: true } })
    const big = await run(100000)
    const small = await run(1)
    expect(big.stats.analyzed).toBe(3)
    expect(big.classifications).toEqual(small.classifications)
    expect(big.questions.map((q) => q.id)).toEqual(small.questions.map((q) => q.id))
    await expect(run(1_000_001)).rejects.toMatchObject({ name: 'RangeError', field: 'options.batchSize' })
    // classify() keeps its own, smaller model-batch limit
    await expect(qi.classify(['x'], { batchSize: 100000 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.batchSize' })
  })

  test('a message that cannot be read is rejected on its own, with its id and the reason', async () => {
    const at = Date.parse('2026-10-05T12:00:00Z')
    const messages = [
      { id: 'f', authorId: 'a', channelId: 'c', content: () => 'x', timestamp: at },
      { id: 'n', authorId: 'a', channelId: 'c', content: 'when?', timestamp: NaN },
      { id: 'ok', authorId: 'a', channelId: 'c', content: 'how do I reset my password?', timestamp: at },
    ]
    const r = await qi.analyzeTenant({ ...month, messages, options: { llm: { apiKey: '' } } })
    expect(r.stats.rejected).toEqual([
      { index: 0, id: 'f', reason: 'content is a function' },
      { index: 1, id: 'n', reason: 'timestamp is NaN' },
    ])
    expect(r.stats.analyzed).toBe(1)
  })
})
