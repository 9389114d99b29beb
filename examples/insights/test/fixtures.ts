// Test fixtures, generated: several months with recurring clusters, askers and best answers,
// minor clusters, non-Latin text and emoji, a 5,000-character question, 3,000 clusters, a file
// of format version 1 (before asks), and broken tenants. Valid fixtures are checked against the
// schemas with ajv (test/schema-contract.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BestAnswer, Cluster, MonthAnalysis, QuestionAnalysisData, QuestionAnalysisDataV1, TenantMetadata } from '../src/lib/data'

// Exactly 5,000 characters, with one 300-character run without spaces (it must wrap too).
export const LONG_QUESTION_5000 = (
  'Why does my build fail when ' +
  Array.from({ length: 100 }, (_, i) => `step${i} runs`).join(' ') +
  ' then ' +
  'x'.repeat(300) +
  ' ' +
  Array.from({ length: 400 }, (_, i) => `and then part ${i} of the log says something`).join(', ')
).slice(0, 4999) + '?'

export const EMOJI_TITLE = '🚀 Deploying to production 🚀'
export const ARABIC_QUESTION = 'كيف أقوم بنشر التطبيق على الخادم؟'
export const CHINESE_QUESTION = '如何把应用部署到生产环境？🙏'
export const JAPANESE_TITLE = '日本語の設定'
export const RUSSIAN_QUESTION = 'Как настроить вебхуки для бота? 🤖'
export const MINOR_TITLE = 'Bot crashes on startup'

let nextMessage = 1000
function ids(n: number): string[] {
  return Array.from({ length: n }, () => String(1_200_000_000_000_000_000n + BigInt(nextMessage++)))
}

/** The Discord ids of the fixtures' best answers: guild (tenant), channel, message. */
export const GUILD = 'acme'
export const HELP_CHANNEL = '1100000000000000001'

export function answer(messageId: string, acknowledged: boolean): BestAnswer {
  return { guildId: GUILD, channelId: HELP_CHANNEL, messageId, questionId: `q-${messageId}`, authorId: 'helper-1', acknowledged }
}

function cluster(p: Partial<Cluster> & Pick<Cluster, 'id' | 'size' | 'representative'>): Cluster {
  const questionCount = p.questionCount ?? Math.max(1, Math.ceil(p.size * 0.8))
  return {
    title: null,
    samples: [p.representative],
    keywords: [],
    askers: Math.max(1, Math.ceil(p.size / 2)),
    unansweredRate: 0.25,
    resolvedRate: 0.5,
    bestAnswer: null,
    messageIds: ids(p.size),
    ...p,
    questionCount,
  }
}

const byRank = (a: Cluster, b: Cluster) => (b.askers ?? -1) - (a.askers ?? -1) || b.size - a.size || a.id - b.id

function analysis(month: string, clusters: Cluster[], extra: Partial<MonthAnalysis['stats']> = {}, minorClusters: Cluster[] = []): MonthAnalysis {
  const sorted = [...clusters].sort(byRank)
  const questions = sorted.reduce((n, c) => n + c.size, 0) + (extra.unclustered ?? 3)
  return {
    month,
    analyzedAt: `${month}-28T12:00:00.000Z`,
    stats: {
      messages: questions * 7,
      questions,
      clusters: sorted.length,
      unclustered: 3,
      duplicates: 2,
      asks: questions + 2,
      conversations: questions + 9,
      answered: Math.floor(questions * 0.75),
      resolved: Math.floor(questions * 0.4),
      notRequests: 1,
      minorClusters: minorClusters.length,
      roles: { ask: questions + 2, clarification: 11, backchannel: 5, other: 8 },
      ...extra,
    },
    clusters: sorted,
    minorClusters: [...minorClusters].sort(byRank),
  }
}

/** Four months: recurring clusters (by title and by keywords), an empty month, new clusters. */
export function monthlyData(): QuestionAnalysisData {
  nextMessage = 1000
  const password = (id: number, size: number) =>
    cluster({
      id,
      size,
      title: 'Password reset',
      representative: 'How do I reset my password?',
      samples: ['How do I reset my password?', 'I forgot my password, what now?', 'password reset link expired?'],
      keywords: ['password', 'reset', 'login'],
      askers: Math.round(size / 2),
      unansweredRate: 0.1,
      resolvedRate: 0.6,
      bestAnswer: answer(`12000000000000${id}${size}`, true),
    })
  const docker = (id: number, size: number, kw: string[], rep: string) =>
    cluster({
      id,
      size,
      representative: rep,
      samples: [rep],
      keywords: kw,
      askers: 3,
      unansweredRate: 0.5,
      resolvedRate: 0,
      bestAnswer: answer(`12000000000001${id}${size}`, false),
    })
  const billing = (id: number, size: number) =>
    cluster({
      id,
      size,
      title: 'Billing and invoices',
      representative: 'Where can I download my invoices?',
      samples: ['Where can I download my invoices?', 'Can I change the billing address?'],
      keywords: ['invoice', 'billing'],
      askers: 2,
      unansweredRate: 1,
      resolvedRate: 0,
    })
  const months = ['2024-01', '2024-02', '2024-03', '2024-04']
  const analyses: Record<string, MonthAnalysis> = {
    '2024-01': analysis('2024-01', [
      password(0, 12),
      docker(1, 8, ['docker', 'install', 'windows'], 'How do I install Docker on Windows?'),
      cluster({ id: 2, size: 5, title: JAPANESE_TITLE, representative: '設定ファイルはどこにありますか？', keywords: ['設定', 'ファイル'] }),
    ]),
    '2024-02': analysis('2024-02', [], { questions: 4, unclustered: 4, clusters: 0, duplicates: 0 }),
    '2024-03': analysis('2024-03', [
      password(0, 20),
      docker(1, 10, ['docker', 'install', 'windows', 'wsl'], 'Docker Desktop will not install on Windows 11'),
      billing(2, 6),
    ]),
    '2024-04': analysis('2024-04', [
      password(0, 30),
      billing(1, 4),
      cluster({
        id: 2,
        size: 15,
        title: EMOJI_TITLE,
        representative: 'How do I deploy to production? 🚀',
        samples: ['How do I deploy to production? 🚀', ARABIC_QUESTION, CHINESE_QUESTION, RUSSIAN_QUESTION],
        keywords: ['deploy', 'production', '部署', 'نشر', '🚀'],
        askers: 9,
        unansweredRate: 0.6,
        resolvedRate: 0.2,
        bestAnswer: answer('1200000000000009999', false),
      }),
      cluster({
        id: 3,
        size: 7,
        representative: LONG_QUESTION_5000,
        samples: [LONG_QUESTION_5000, 'Why does my build fail?'],
        keywords: ['build', 'fail'],
        // more members than the 9-message docker cluster: ranked above it
        askers: 5,
        unansweredRate: 1,
        resolvedRate: 0,
      }),
      docker(4, 9, ['docker', 'install', 'wsl'], 'WSL2 backend for docker fails to install'),
    ], {}, [
      // one member asking six times: listed apart, whatever its size
      cluster({ id: 5, size: 6, askers: 1, title: MINOR_TITLE, representative: 'Why does my bot crash on startup?', keywords: ['bot', 'crash'], unansweredRate: 1, resolvedRate: 0 }),
      cluster({ id: 6, size: 1, askers: 1, representative: 'Is there a dark theme?', keywords: ['theme'], unansweredRate: 0, resolvedRate: 1, bestAnswer: answer('1200000000000008888', true) }),
    ]),
  }
  return { version: 2, tenantId: GUILD, generatedAt: '2024-04-30T08:00:00.000Z', months, analyses }
}

/** A file of format version 1 (written before asks were counted): what it lacks is left out. */
export function toV1(d: QuestionAnalysisData): QuestionAnalysisDataV1 {
  const analyses: QuestionAnalysisDataV1['analyses'] = {}
  for (const [m, a] of Object.entries(d.analyses)) {
    const { messages, questions, clusters, unclustered, duplicates } = a.stats
    analyses[m] = {
      month: a.month,
      analyzedAt: a.analyzedAt,
      stats: { messages, questions, clusters, unclustered, duplicates },
      // size order, untitled clusters without a title key, as version 1 files had them
      clusters: [...a.clusters, ...a.minorClusters]
        .sort((x, y) => y.size - x.size || x.id - y.id)
        .map(({ askers: _a, resolvedRate: _r, bestAnswer: _b, title, ...c }) => (title === null ? c : { ...c, title })),
    }
  }
  return { ...d, version: 1, tenantId: 'legacy', analyses }
}

/** `n` clusters in one month (and a smaller previous month). */
export function largeData(n = 3000): QuestionAnalysisData {
  nextMessage = 500_000
  const make = (month: string, count: number) =>
    analysis(
      month,
      Array.from({ length: count }, (_, i) =>
        cluster({
          id: i,
          size: count - i + 1,
          title: i % 3 === 0 ? `Topic ${i}` : null,
          representative: `Question number ${i} about feature ${i}?`,
          keywords: [`feature${i}`, `area${i}`],
          messageIds: [`m${month}-${i}`],
          questionCount: 1,
          askers: count - i + 1,
          unansweredRate: (i % 11) / 10,
        }),
      ),
    )
  return {
    version: 2,
    tenantId: 'big',
    generatedAt: '2024-06-01T00:00:00.000Z',
    months: ['2024-04', '2024-05'],
    analyses: { '2024-04': make('2024-04', 100), '2024-05': make('2024-05', n) },
  }
}

export function emptyData(): QuestionAnalysisData {
  return { version: 2, tenantId: 'empty', generatedAt: '2024-06-01T00:00:00.000Z', months: [], analyses: {} }
}

export interface TenantFixture {
  metadata?: TenantMetadata | string
  questions?: QuestionAnalysisData | QuestionAnalysisDataV1 | string
}

/** Every fixture tenant; a string is written as is (malformed files), undefined: no file. */
export function tenants(): Record<string, TenantFixture> {
  return {
    acme: { metadata: { tenantId: 'acme', name: 'Acme Community', hasQuestionAnalysis: true }, questions: monthlyData() },
    big: { metadata: { tenantId: 'big', name: 'Big Server', hasQuestionAnalysis: true }, questions: largeData() },
    empty: { metadata: { tenantId: 'empty', hasQuestionAnalysis: true }, questions: emptyData() },
    legacy: { metadata: { tenantId: 'legacy', name: 'Legacy Export', hasQuestionAnalysis: true }, questions: toV1(monthlyData()) },
    disabled: { metadata: { tenantId: 'disabled', name: 'No Analysis Guild', hasQuestionAnalysis: false }, questions: monthlyData() },
    broken: { metadata: { tenantId: 'broken', hasQuestionAnalysis: true }, questions: '{"version": 1, "tenantId": "broken", "months": [' },
    invalid: {
      metadata: { tenantId: 'invalid', hasQuestionAnalysis: true },
      questions: JSON.stringify({ ...emptyData(), tenantId: 'invalid', version: 3 }),
    },
    noquestions: { metadata: { tenantId: 'noquestions', hasQuestionAnalysis: true } },
    nometa: { questions: monthlyData() },
    badmeta: { metadata: '{"hasQuestionAnalysis": "yes"}', questions: monthlyData() },
  }
}

/** Writes the tenants under `dir/<tenant>/`. */
export function writeFixtures(dir: string): void {
  for (const [name, t] of Object.entries(tenants())) {
    const d = join(dir, name)
    mkdirSync(d, { recursive: true })
    if (t.metadata !== undefined)
      writeFileSync(join(d, 'metadata.json'), typeof t.metadata === 'string' ? t.metadata : JSON.stringify(t.metadata, null, 2))
    if (t.questions !== undefined)
      writeFileSync(join(d, 'questions.json'), typeof t.questions === 'string' ? t.questions : JSON.stringify(t.questions))
  }
}
