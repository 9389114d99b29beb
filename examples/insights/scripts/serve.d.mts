import type { Server } from 'node:http'
export interface StartedServer {
  port: number
  url: string
  close(): Promise<void>
  server: Server
}
export function startServer(options?: { dist?: string; data?: string | null; host?: string; port?: number; dataMount?: string }): Promise<StartedServer>
export function findTenants(data: string): string[]
