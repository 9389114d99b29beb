/** The repository's fake OpenAI-compatible server (__test__/support/fake-openai.js). */
import path from 'node:path'
import { repoRoot } from './env'

export interface FakeOpenAI {
  url: string
  stats: { requests: number; maxInFlight: number; bodies: Array<{ model?: string } | null> }
  setMode(mode: string): void
  setDelay(ms: number): void
  close(): Promise<void>
}

export function startFakeOpenAI(opts: { delayMs?: number; mode?: string } = {}): Promise<FakeOpenAI> {
  const mod = require(path.join(repoRoot, '__test__', 'support', 'fake-openai.js')) as {
    startFakeOpenAI(o: object): Promise<FakeOpenAI>
  }
  return mod.startFakeOpenAI(opts)
}
