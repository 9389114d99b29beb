import { sql } from 'kysely'
import type { Db } from './db/index'
import type { AnalysisRun, QuestionRole, RunStats, RunStatus, StoredCluster, StoredQuestion, Tenant } from './db/types'
import type { AnalyzedCluster, TenantAnalysis } from './library'
import { isMonth } from './month'

export interface StoreOptions {
  /** The question_analysis_runs row to complete; without it a completed run row is inserted. */
  runId?: string
  jobId?: string
  correlationId?: string
  force?: boolean
}

export interface StoreResult {
  runId: string
  clusters: number
  minorClusters: number
  questions: number
}

export interface MonthAnalysis {
  month: string
  runId: string
  analyzedAt: Date
  stats: RunStats
}

const CLUSTER_CHUNK = 500
const QUESTION_CHUNK = 1000

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const ROLES: readonly QuestionRole[] = ['ask', 'clarification', 'backchannel', 'other']

export function runStats(a: TenantAnalysis): RunStats {
  const s = a.stats
  const stats: RunStats = {
    messages: s.messages,
    questions: s.questions,
    extracted: s.extracted,
    llmFallbacks: s.llmFallbacks,
    skippedExtraction: s.skippedExtraction,
    duplicates: s.duplicates,
    clusters: s.clusters,
    unclustered: s.unclustered,
    rejected: s.rejected.length,
    warnings: s.warnings.slice(0, 50),
    timingsMs: { ...s.timingsMs },
    peakRssBytes: s.peakRssBytes,
  }
  // Counts of a library with asks; a library from before leaves them out (unknown).
  if (s.roles != null) stats.roles = { ask: s.roles.ask, clarification: s.roles.clarification, backchannel: s.roles.backchannel, other: s.roles.other }
  for (const k of ['asks', 'conversations', 'answered', 'resolved', 'notRequests', 'minorClusters', 'botMessages'] as const) {
    const v = s[k]
    if (v != null) stats[k] = v
  }
  return stats
}

/** Checks what the library returned before anything is written. */
function checkAnalysis(a: TenantAnalysis, tenantId: string, month: string): void {
  const fail = (why: string): never => {
    throw new Error(`invalid analysis of tenant ${tenantId} ${month}: ${why}`)
  }
  if (a.tenantId !== tenantId) fail(`tenantId is ${JSON.stringify(a.tenantId)}`)
  if (a.month !== month) fail(`month is ${JSON.stringify(a.month)}`)
  // Cluster ids are unique across clusters and minorClusters: questions point at them by id.
  const ids = new Set<number>()
  for (const [list, minor] of [[a.clusters, false], [a.minorClusters ?? [], true]] as const) {
    for (const c of list) {
      const what = `${minor ? 'minor ' : ''}cluster ${c.id}`
      if (!Number.isInteger(c.id) || c.id < 0 || ids.has(c.id)) fail(`${what}: its id is not a unique non-negative integer`)
      ids.add(c.id)
      if (c.memberQuestionIds.length === 0) fail(`${what} has no questions`)
    }
  }
  const qids = new Set<string>()
  for (const q of a.questions) {
    if (qids.has(q.id)) fail(`question id ${q.id} is repeated`)
    qids.add(q.id)
    if (q.clusterId != null && !ids.has(q.clusterId)) fail(`question ${q.id} points at cluster ${q.clusterId}`)
    if (q.source !== 'llm' && q.source !== 'original') fail(`question ${q.id} has source ${JSON.stringify(q.source)}`)
    if (q.role != null && !ROLES.includes(q.role)) fail(`question ${q.id} has role ${JSON.stringify(q.role)}`)
  }
}

function clusterRow(c: AnalyzedCluster, minor: boolean) {
  const b = c.bestAnswer ?? null
  return {
    cluster_id: c.id,
    minor,
    size: c.size,
    question_count: c.memberQuestionIds.length,
    representative: c.representative,
    representative_question_id: c.representativeQuestionId,
    samples: c.samples,
    member_question_ids: c.memberQuestionIds,
    message_ids: c.messageIds,
    keywords: c.keywords,
    title: c.title ?? null,
    unanswered_rate: c.unansweredRate,
    cohesion: c.cohesion,
    askers: c.askers ?? null,
    resolved_rate: c.resolvedRate ?? null,
    answered: c.answered ?? null,
    resolved: c.resolved ?? null,
    best_answer_question_id: b?.questionId ?? null,
    best_answer_message_id: b?.messageId ?? null,
    best_answer_channel_id: b?.channelId ?? null,
    best_answer_author_id: b?.authorId ?? null,
    best_answer_acknowledged: b ? b.acknowledged : null,
  }
}

/** Everything the backend reads and writes about question analyses; every query is scoped by tenant. */
export class QuestionRepository {
  constructor(private readonly db: Db) {}

  // -- tenants ------------------------------------------------------------------------------

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst()
  }

  async listActiveTenants(): Promise<Tenant[]> {
    return this.db.selectFrom('tenants').selectAll().where('active', '=', true).orderBy('id').execute()
  }

  // -- results ------------------------------------------------------------------------------

  /**
   * Stores a tenant-month's analysis in one transaction, replacing any earlier result of that
   * tenant and month (idempotent: a retried or repeated job never duplicates rows). Writers of
   * the same tenant-month are serialised by a transaction-scoped advisory lock.
   */
  async storeAnalysis(analysis: TenantAnalysis, opts: StoreOptions = {}): Promise<StoreResult> {
    const { tenantId, month } = analysis
    if (!isMonth(month)) throw new RangeError(`invalid month ${JSON.stringify(month)}`)
    checkAnalysis(analysis, tenantId, month)
    const stats = JSON.stringify(runStats(analysis))

    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`question-analysis:${tenantId}:${month}`}, 0))`.execute(trx)

      let runId = opts.runId
      if (runId === undefined) {
        const row = await trx
          .insertInto('question_analysis_runs')
          .values({
            tenant_id: tenantId,
            month,
            status: 'running',
            force: opts.force ?? false,
            job_id: opts.jobId ?? null,
            correlation_id: opts.correlationId ?? null,
            attempt: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        runId = row.id
      }

      await trx.deleteFrom('question_classifications').where('tenant_id', '=', tenantId).where('month', '=', month).execute()
      await trx.deleteFrom('question_clusters').where('tenant_id', '=', tenantId).where('month', '=', month).execute()

      const clusterRows = [
        ...analysis.clusters.map((c) => clusterRow(c, false)),
        ...(analysis.minorClusters ?? []).map((c) => clusterRow(c, true)),
      ]
      for (const part of chunks(clusterRows, CLUSTER_CHUNK)) {
        await trx
          .insertInto('question_clusters')
          .values(part.map((row) => ({ tenant_id: tenantId, month, run_id: runId, ...row })))
          .execute()
      }

      for (const part of chunks(analysis.questions, QUESTION_CHUNK)) {
        await trx
          .insertInto('question_classifications')
          .values(
            part.map((q) => ({
              tenant_id: tenantId,
              month,
              run_id: runId,
              question_id: q.id,
              message_ids: q.messageIds,
              original: q.original,
              extracted: q.extracted,
              source: q.source as 'llm' | 'original',
              confidence: q.confidence,
              author_id: q.authorId,
              channel_id: q.channelId,
              asked_at: q.timestamp,
              context_message_ids: q.contextMessageIds,
              answered: q.answered,
              cluster_id: q.clusterId ?? null,
              role: q.role ?? null,
              conversation_id: q.conversationId ?? null,
              resolved: q.resolved ?? null,
              answer_message_id: q.answer?.messageId ?? null,
              answer_channel_id: q.answer?.channelId ?? null,
              answer_author_id: q.answer?.authorId ?? null,
              answer_acknowledged: q.answer ? q.answer.acknowledged : null,
              not_request: q.notRequest ?? null,
            })),
          )
          .execute()
      }

      const done = await trx
        .updateTable('question_analysis_runs')
        .set({ status: 'completed', stats, error: null, finished_at: new Date() })
        .where('id', '=', runId)
        .where('tenant_id', '=', tenantId)
        .where('month', '=', month)
        .executeTakeFirst()
      if (done.numUpdatedRows !== 1n) throw new Error(`run ${runId} of tenant ${tenantId} ${month} not found`)

      return { runId, clusters: analysis.clusters.length, minorClusters: analysis.minorClusters?.length ?? 0, questions: analysis.questions.length }
    })
  }

  /** True when the tenant-month has a stored (completed) analysis. */
  async hasAnalysis(tenantId: string, month: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('question_analysis_runs')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('month', '=', month)
      .where('status', '=', 'completed')
      .limit(1)
      .executeTakeFirst()
    return row !== undefined
  }

  /** Analysed months of a tenant, oldest first. */
  async listMonths(tenantId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('question_analysis_runs')
      .select('month')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'completed')
      .orderBy('month')
      .execute()
    return rows.map((r) => r.month)
  }

  /** The latest completed run of every analysed month (what the stored clusters came from), oldest month first. */
  async listAnalyses(tenantId: string): Promise<MonthAnalysis[]> {
    const rows = await this.db
      .selectFrom('question_analysis_runs')
      .distinctOn('month')
      .select(['id', 'month', 'finished_at', 'stats'])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'completed')
      .orderBy('month')
      .orderBy('finished_at', 'desc')
      .orderBy('id', 'desc')
      .execute()
    return rows.map((r) => ({
      month: r.month,
      runId: r.id,
      analyzedAt: r.finished_at ?? new Date(0),
      stats: r.stats as RunStats,
    }))
  }

  /**
   * A month's clusters, ranked by distinct askers, then size (rows stored before askers were
   * counted: by size); `minor: true` gives the minor clusters (fewer than minAskers askers).
   */
  async loadClusters(tenantId: string, month: string, { minor = false }: { minor?: boolean } = {}): Promise<StoredCluster[]> {
    return this.db
      .selectFrom('question_clusters')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('month', '=', month)
      .where('minor', '=', minor)
      .orderBy('askers', (ob) => ob.desc().nullsLast())
      .orderBy('size', 'desc')
      .orderBy('cluster_id')
      .execute()
  }

  /** A month's extracted questions (optionally of one cluster), oldest first. */
  async loadQuestions(tenantId: string, month: string, clusterId?: number): Promise<StoredQuestion[]> {
    let q = this.db
      .selectFrom('question_classifications')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('month', '=', month)
    if (clusterId !== undefined) q = q.where('cluster_id', '=', clusterId)
    return q.orderBy('asked_at').orderBy('question_id').execute()
  }

  // -- runs ---------------------------------------------------------------------------------

  async startRun(r: { tenantId: string; month: string; jobId?: string; correlationId?: string; attempt?: number; force?: boolean }): Promise<string> {
    const row = await this.db
      .insertInto('question_analysis_runs')
      .values({
        tenant_id: r.tenantId,
        month: r.month,
        status: 'running',
        force: r.force ?? false,
        job_id: r.jobId ?? null,
        correlation_id: r.correlationId ?? null,
        attempt: r.attempt ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    return row.id
  }

  /** Records a run that ended without a stored result (failed, skipped). */
  async finishRun(runId: string, status: Exclude<RunStatus, 'running' | 'completed'>, error?: string): Promise<void> {
    await this.db
      .updateTable('question_analysis_runs')
      .set({ status, error: error ?? null, finished_at: new Date() })
      .where('id', '=', runId)
      .execute()
  }

  async recordSkipped(r: { tenantId: string; month: string; jobId?: string; correlationId?: string; reason: string }): Promise<string> {
    const row = await this.db
      .insertInto('question_analysis_runs')
      .values({
        tenant_id: r.tenantId,
        month: r.month,
        status: 'skipped',
        job_id: r.jobId ?? null,
        correlation_id: r.correlationId ?? null,
        error: r.reason,
        finished_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    return row.id
  }

  /**
   * Marks the still-running runs of a job as interrupted (its worker died or lost the lock and the
   * job was picked up again). Returns how many.
   */
  async interruptRunsOfJob(jobId: string, tenantId: string, month: string): Promise<number> {
    const res = await this.db
      .updateTable('question_analysis_runs')
      .set({ status: 'interrupted', error: 'the job was picked up again (worker crashed or lost its lock)', finished_at: new Date() })
      .where('job_id', '=', jobId)
      .where('tenant_id', '=', tenantId)
      .where('month', '=', month)
      .where('status', '=', 'running')
      .executeTakeFirst()
    return Number(res.numUpdatedRows)
  }

  async listRuns(tenantId: string, month?: string): Promise<AnalysisRun[]> {
    let q = this.db.selectFrom('question_analysis_runs').selectAll().where('tenant_id', '=', tenantId)
    if (month !== undefined) q = q.where('month', '=', month)
    return q.orderBy('id').execute()
  }
}
