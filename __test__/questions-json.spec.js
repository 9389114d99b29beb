// The questions.json export (scripts/questions-json.js): rates rounded to 4 decimals.
const { toQuestionsJson, round4 } = require('../scripts/questions-json')

const analysis = (month, unansweredRate) => ({
  month,
  stats: { messages: 10, questions: 3, clusters: 1, unclustered: 0, duplicates: 0 },
  clusters: [
    { id: 0, representative: 'q?', samples: ['q?'], size: 3, memberQuestionIds: ['a', 'b'], keywords: ['q'], unansweredRate, messageIds: ['1'] },
  ],
})

test('rounds rates to 4 decimals', () => {
  expect(round4(0.05263157933950424)).toBe(0.0526)
  expect(round4(2 / 3)).toBe(0.6667)
  expect(round4(0)).toBe(0)
  expect(round4(1)).toBe(1)
})

test('the export carries rounded unanswered rates, months in order', () => {
  const json = toQuestionsJson('t1', [analysis('2024-02', 1 / 19), analysis('2024-01', 0.30000000000000004)], new Date('2024-03-01T00:00:00Z'))
  expect(json.months).toEqual(['2024-01', '2024-02'])
  expect(json.analyses['2024-02'].clusters[0].unansweredRate).toBe(0.0526)
  expect(json.analyses['2024-01'].clusters[0].unansweredRate).toBe(0.3)
  expect(JSON.stringify(json)).not.toMatch(/\d\.\d{5,}/)
})
