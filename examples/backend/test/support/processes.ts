/** Worker child processes (the real entry point, dist/src/cli/worker.js) with their JSON log lines. */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { backendRoot } from '../../src/paths'
import { waitFor } from './env'

export interface LogLine {
  level?: string
  msg?: string
  [key: string]: unknown
}

export interface WorkerProcess {
  proc: ChildProcess
  pid: number
  lines: LogLine[]
  /** stdout/stderr text that was not a JSON log line. */
  other: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export const workerEntry = path.join(backendRoot, 'dist', 'src', 'cli', 'worker.js')

export function spawnWorker(env: Record<string, string>, name = 'worker'): WorkerProcess {
  const proc = spawn(process.execPath, [workerEntry], {
    cwd: backendRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: LogLine[] = []
  const other: string[] = []
  const onData = (stream: NodeJS.ReadableStream) => {
    let buf = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (!line.trim()) continue
        try {
          lines.push(JSON.parse(line) as LogLine)
        } catch {
          other.push(line)
        }
      }
    })
  }
  onData(proc.stdout!)
  onData(proc.stderr!)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }))
  })
  let done = false
  void exited.then(() => {
    done = true
  })
  const describe = () =>
    `${name} (pid ${proc.pid}) log tail:\n${lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n${other.slice(-10).join('\n')}`
  return {
    proc,
    pid: proc.pid ?? -1,
    lines,
    other,
    exited,
    async waitForLog(what, pred, timeoutMs = 60_000) {
      try {
        return await waitFor(what, () => {
          const hit = lines.find(pred)
          if (hit) return hit
          if (done) throw new Error(`${name} exited`)
          return undefined
        }, timeoutMs)
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${describe()}`)
      }
    },
    async stop(graceMs = 10_000) {
      if (done) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
