/** Calendar months as `YYYY-MM`, always in UTC. */

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/

export function isMonth(value: unknown): value is string {
  return typeof value === 'string' && MONTH_RE.test(value)
}

export function parseMonth(month: string): { year: number; month: number } {
  const m = MONTH_RE.exec(month)
  if (!m) throw new RangeError(`invalid month ${JSON.stringify(month)}: expected YYYY-MM`)
  return { year: Number(m[1]), month: Number(m[2]) }
}

export function formatMonth(year: number, month1: number): string {
  return `${String(year).padStart(4, '0')}-${String(month1).padStart(2, '0')}`
}

/** The month (UTC) that contains `date`. */
export function monthOf(date: Date | number): string {
  const d = new Date(date)
  return formatMonth(d.getUTCFullYear(), d.getUTCMonth() + 1)
}

/** The calendar month before the one containing `date`, in UTC (January → December of the year before). */
export function previousMonth(date: Date | number): string {
  const d = new Date(date)
  return monthOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1))
}

/** [start, end) of a month in UTC. */
export function monthRange(month: string): { start: Date; end: Date } {
  const { year, month: m } = parseMonth(month)
  return { start: new Date(Date.UTC(year, m - 1, 1)), end: new Date(Date.UTC(year, m, 1)) }
}

/** Compares two YYYY-MM strings (lexicographic order is chronological). */
export function compareMonths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
