import { formatMonth, type Month } from '../lib/data'

export interface MonthSelectorProps {
  months: Month[]
  value: Month
  onChange: (m: Month) => void
}

/** A select of the months present in the data, newest first. */
export function MonthSelector({ months, value, onChange }: MonthSelectorProps) {
  return (
    <label className="month-selector">
      <span>Month</span>
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid="month-select">
        {[...months].reverse().map((m) => (
          <option key={m} value={m}>
            {formatMonth(m)}
          </option>
        ))}
      </select>
    </label>
  )
}
