// Pure helpers shared by the views (unit tested).

/** `2026-05-03 14:05` in Asia/Shanghai. */
export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  const d = new Date(ms + 8 * 3600_000)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`
}

/** `YYYY-MM-DD` of an instant in Asia/Shanghai. */
export function localDay(ms: number): string {
  return fmtTime(ms).slice(0, 10)
}

/** `62.5%`, or `—` when there is nothing to divide by. */
export function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—'
  return `${(v * 100).toFixed(1)}%`
}

/** The CSS colour of an overdue level. */
export function overdueColor(level: string | null | undefined): string {
  switch (level) {
    case 'Red':
      return '#d93026'
    case 'Yellow':
      return '#e6a700'
    case 'Green':
      return '#2e9d4f'
    default:
      return '#999'
  }
}

/** The actions a supervisor can take in a state (mirrors core/src/workflow.rs). */
export function actionsFor(state: string | null | undefined): string[] {
  switch (state) {
    case 'Reported':
      return ['File', 'Void']
    case 'Filed':
      return ['Dispatch']
    case 'Feedback':
      return ['Check']
    case 'Checking':
      return ['Close', 'Return']
    case 'SelfHandled':
      return ['Close']
    case 'Closed':
      return ['Evaluate']
    default:
      return []
  }
}
