/**
 * Per-tenant analysis overrides, stored in tenants.settings (jsonb) under `questionAnalysis`.
 * Invalid settings fail that tenant's job (without retries: retrying cannot fix them).
 */
import Ajv from 'ajv'

export interface TenantAnalysisSettings {
  threshold?: number
  batchSize?: number
  /** Accepted and ignored: the library rebuilds conversations instead (since asks). */
  contextWindowMs?: number
  /** Accepted and ignored: a conversation is answered when someone else replied in it (since asks). */
  answeredWindowMs?: number
  llmModel?: string
  skipSelfContained?: boolean
  /** Clusters with fewer distinct askers are listed apart (library default 2). */
  minAskers?: number
  /** `asks` (library default): only asks are clustered; `all`: every question-like message. */
  questions?: 'asks' | 'all'
}

const ajv = new Ajv({ allErrors: true, strict: true })
const validate = ajv.compile<TenantAnalysisSettings>({
  type: 'object',
  additionalProperties: false,
  properties: {
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    batchSize: { type: 'integer', minimum: 1, maximum: 100000 },
    contextWindowMs: { type: 'integer', minimum: 0 },
    answeredWindowMs: { type: 'integer', minimum: 0 },
    llmModel: { type: 'string', minLength: 1 },
    skipSelfContained: { type: 'boolean' },
    minAskers: { type: 'integer', minimum: 1 },
    questions: { enum: ['asks', 'all'] },
  },
})

export class TenantSettingsError extends Error {
  override name = 'TenantSettingsError'
}

export function tenantAnalysisSettings(tenantId: string, settings: unknown): TenantAnalysisSettings {
  const raw = settings && typeof settings === 'object' ? (settings as Record<string, unknown>).questionAnalysis : undefined
  if (raw === undefined || raw === null) return {}
  if (!validate(raw)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ')
    throw new TenantSettingsError(`tenant ${tenantId}: invalid settings.questionAnalysis: ${why}`)
  }
  return raw
}
