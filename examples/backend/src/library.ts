/**
 * Loads question-insights' analyzeTenant. Types come from the published contract
 * (examples/schema/analyze-tenant-contract.d.ts); the module is the repository root by default,
 * or QI_LIBRARY.
 */
import type * as Contract from '../../schema/analyze-tenant-contract'

export type AnalyzeTenant = typeof Contract.analyzeTenant
export type TenantMessage = Contract.TenantMessage
export type TenantAnalysis = Contract.TenantAnalysis
export type AnalyzeOptions = Contract.AnalyzeOptions
export type AnalyzeProgress = Contract.AnalyzeProgress
export type LlmOptions = Contract.LlmOptions
export type LibraryLogLine = Parameters<NonNullable<AnalyzeOptions['onLog']>>[0]

export function loadAnalyzeTenant(modulePath: string): AnalyzeTenant {
  let mod: { analyzeTenant?: unknown }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(modulePath) as { analyzeTenant?: unknown }
  } catch (err) {
    throw new Error(`cannot load question-insights from ${modulePath} (build it first: npm run build at the repository root): ${(err as Error).message}`)
  }
  if (typeof mod.analyzeTenant !== 'function') {
    throw new Error(`${modulePath} does not export analyzeTenant: rebuild question-insights (npm run build at the repository root)`)
  }
  return mod.analyzeTenant as AnalyzeTenant
}
