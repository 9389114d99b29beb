import type { ReactNode } from 'react'

export function ErrorState({ title, message, hint }: { title: string; message: string; hint?: ReactNode }) {
  return (
    <div className="state state-error" role="alert" data-testid="error-state">
      <h2>{title}</h2>
      <p className="state-message">{message}</p>
      {hint && <p className="state-hint">{hint}</p>}
    </div>
  )
}

export function EmptyState({ title, children, testId = 'empty-state' }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="state state-empty" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </div>
  )
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" data-testid="loading">
      Loading {what}…
    </p>
  )
}
