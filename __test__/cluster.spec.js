'use strict'
const { qi } = require('./helpers')

const passwordQs = ['How do I reset my password?', 'how can i reset my password', 'I forgot my password, how do I change it?', 'password reset link not working, what do I do?']
const dockerQs = ['What is docker compose?', 'what does docker compose do', 'how do I use docker compose for a dev setup?', 'docker compose vs docker swarm?']
const billingQs = ['Why was I charged twice this month?', 'how do I get a refund for a double charge?', 'I got billed twice, can I get my money back?']

describe('dedupe', () => {
  test('keeps the most confident of a duplicate group and every message id', async () => {
    const out = await qi.dedupe([
      { id: 'a', text: 'How do I reset my password?', confidence: 0.8, messageIds: ['m1', 'm2'] },
      { id: 'b', text: 'how do i reset my password', confidence: 0.95 },
      { id: 'c', text: 'What is docker compose?', confidence: 0.9 },
    ])
    expect(out).toHaveLength(2)
    const kept = out.find((u) => u.id === 'b')
    expect(kept.duplicateIds).toEqual(['a'])
    expect(kept.messageIds.sort()).toEqual(['b', 'm1', 'm2'])
    expect(out.find((u) => u.id === 'c').messageIds).toEqual(['c'])
  })

  test('the threshold is configurable', async () => {
    const qs = [{ id: 'a', text: 'How do I reset my password?' }, { id: 'b', text: 'how can i reset my password' }]
    expect(await qi.dedupe(qs, { threshold: 0.99 })).toHaveLength(2)
    expect(await qi.dedupe(qs, { threshold: 0.9 })).toHaveLength(1)
  })

  test('rejects NaN confidence and thresholds outside [0, 1], naming the field', async () => {
    await expect(qi.dedupe([{ id: 'a', text: 'x', confidence: NaN }])).rejects.toMatchObject({ name: 'RangeError', field: 'questions[0].confidence' })
    await expect(qi.dedupe([{ id: 'a', text: 'x' }], { threshold: 1.5 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.threshold' })
    await expect(qi.dedupe([{ text: 'x' }])).rejects.toMatchObject({ name: 'TypeError', field: 'questions[0].id' })
    await expect(qi.dedupe([{ id: 'a', text: ['x'] }])).rejects.toMatchObject({ name: 'TypeError', field: 'questions[0].text' })
    await expect(qi.dedupe({ id: 'a' })).rejects.toMatchObject({ name: 'TypeError', field: 'questions' })
    await expect(qi.dedupe([{ id: 'a', text: 'x', messageIds: 'm1' }])).rejects.toMatchObject({ field: 'questions[0].messageIds' })
    await expect(qi.dedupe([{ id: 'a', text: 'x', confidence: () => 1 }])).rejects.toMatchObject({ field: 'questions[0].confidence' })
  })
})

describe('cluster', () => {
  const all = [...passwordQs, ...dockerQs, ...billingQs, 'is the bot down?']
  const questions = all.map((text, i) => ({ id: `q${i}`, text, confidence: 0.9 }))

  test('groups questions by topic, largest first, with representative, samples and cohesion', async () => {
    const r = await qi.cluster(questions, { maxSamples: 2 })
    expect(r.clusters.length).toBeGreaterThanOrEqual(2)
    const sizes = r.clusters.map((c) => c.size)
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes)
    const topicOf = (id) => {
      const t = questions.find((q) => q.id === id).text
      return passwordQs.includes(t) ? 'password' : dockerQs.includes(t) ? 'docker' : billingQs.includes(t) ? 'billing' : 'other'
    }
    for (const c of r.clusters) {
      const topics = new Set(c.memberIds.map(topicOf))
      expect(topics.size).toBe(1)
      expect(c.representative.id).toBe(c.memberIds[0])
      expect(c.samples.length).toBeLessThanOrEqual(2)
      expect(c.samples[0].id).toBe(c.representative.id)
      expect(c.cohesion).toBeGreaterThan(0)
      expect(c.cohesion).toBeLessThanOrEqual(1.0001)
    }
    // nothing is lost: every message is in a cluster or unclustered, exactly once
    const ids = [...r.clusters.flatMap((c) => c.messageIds), ...r.unclustered.flatMap((u) => u.messageIds)]
    expect(ids.sort()).toEqual(questions.map((q) => q.id).sort())
    expect(r.stats).toMatchObject({ questions: questions.length, clusters: r.clusters.length, unclustered: r.unclustered.length })
  })

  test('duplicates count in the size; dedupe can be turned off', async () => {
    const qs = [
      { id: 'a', text: 'How do I reset my password?' },
      { id: 'b', text: 'how do i reset my password' },
      { id: 'c', text: 'how can i reset my password' },
    ]
    const withDedupe = await qi.cluster(qs)
    expect(withDedupe.stats.duplicates).toBeGreaterThanOrEqual(1)
    expect(withDedupe.clusters[0].size).toBe(3)
    expect(withDedupe.clusters[0].messageIds.sort()).toEqual(['a', 'b', 'c'])
    const without = await qi.cluster(qs, { dedupe: false })
    expect(without.stats.duplicates).toBe(0)
    expect(without.clusters[0].memberIds).toHaveLength(3)
  })

  test('a greeting or a plea to the room that opens a question does not count: the same question without it is a duplicate', async () => {
    const qs = [
      { id: 'bare', text: 'how do I mount a volume in docker compose?' },
      // each under the duplicate threshold (cosine 0.946 and 0.948) when read whole
      { id: 'greeted', text: 'hey everyone! anyone know how do I mount a volume in docker compose?' },
      { id: 'plea', text: 'good morning all! does anybody know how do I mount a volume in docker compose?' },
      { id: 'other', text: 'how do I rotate the logs of a container?' },
    ]
    expect((await qi.cluster(qs)).stats.duplicates).toBe(2)
    const unique = await qi.dedupe(qs)
    expect(unique.map((u) => u.messageIds.sort()).sort()).toEqual([['bare', 'greeted', 'plea'], ['other']])
  })

  test('is deterministic', async () => {
    const a = await qi.cluster(questions)
    const b = await qi.cluster(questions)
    const strip = (r) => r.clusters.map((c) => [c.size, c.memberIds, c.representative.id])
    expect(strip(a)).toEqual(strip(b))
  })

  test('handles 0, 1 and 2 questions; minClusterSize sends small groups to unclustered', async () => {
    expect((await qi.cluster([])).clusters).toEqual([])
    const one = await qi.cluster(['only question?'])
    expect(one.clusters).toEqual([])
    expect(one.unclustered.map((u) => u.id)).toEqual(['0'])
    const two = await qi.cluster(['How do I reset my password?', 'how can i reset my password'], { dedupe: false })
    expect(two.clusters).toHaveLength(1)
    const big = await qi.cluster(questions, { minClusterSize: 100 })
    expect(big.clusters).toEqual([])
    expect(big.unclustered.flatMap((u) => u.messageIds)).toHaveLength(questions.length)
  })

  test('the two-stage method runs above directLimit and keeps every question', async () => {
    const many = []
    for (let i = 0; i < 60; i++) many.push({ id: `p${i}`, text: `${passwordQs[i % passwordQs.length]} (${i})` })
    for (let i = 0; i < 60; i++) many.push({ id: `d${i}`, text: `${dockerQs[i % dockerQs.length]} (${i})` })
    const r = await qi.cluster(many, { directLimit: 20, dedupe: false })
    expect(r.stats.twoStage).toBe(true)
    const ids = [...r.clusters.flatMap((c) => c.memberIds), ...r.unclustered.map((u) => u.id)]
    expect(ids.sort()).toEqual(many.map((q) => q.id).sort())
    for (const c of r.clusters) expect(new Set(c.memberIds.map((id) => id[0])).size).toBe(1)
  })

  test('minCohesion: a cut loose enough to merge every topic keeps them apart when a merge would leave a group less alike than the floor', async () => {
    const loose = { distanceThreshold: 100, maxCentroidDistance: 2 }
    const merged = await qi.cluster(questions, { ...loose, minCohesion: 0 })
    expect(merged.clusters).toHaveLength(1)
    const apart = await qi.cluster(questions, loose)
    expect(apart.clusters.length).toBeGreaterThanOrEqual(3)
    for (const c of apart.clusters) expect(c.cohesion).toBeGreaterThanOrEqual(0.675 - 1e-4)
    // each topic's questions together, and apart from the others' (the one-off may join any)
    const topicOf = (id) => {
      const t = all[Number(id.slice(1))]
      return passwordQs.includes(t) ? 'password' : dockerQs.includes(t) ? 'docker' : billingQs.includes(t) ? 'billing' : null
    }
    const topics = apart.clusters.map((c) => [...new Set(c.memberIds.map(topicOf).filter(Boolean))])
    for (const t of topics) expect(t).toHaveLength(1)
    expect(topics.flat().sort()).toEqual(['billing', 'docker', 'password'])
  })

  test('bad options reject naming the field', async () => {
    await expect(qi.cluster(questions, { linkage: 'median' })).rejects.toMatchObject({ name: 'RangeError', field: 'options.linkage' })
    await expect(qi.cluster(questions, { minClusterSize: 0 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.minClusterSize' })
    await expect(qi.cluster(questions, { duplicateThreshold: -0.1 })).rejects.toMatchObject({ field: 'options.duplicateThreshold' })
    await expect(qi.cluster(questions, { minCohesion: 1.5 })).rejects.toMatchObject({ name: 'RangeError', field: 'options.minCohesion' })
    await expect(qi.cluster([{ id: 'x', text: 'a' }, { id: 'x', text: 'b' }])).rejects.toMatchObject({ field: 'questions[1].id' })
  })
})
