// Small pure helpers for the screens (tested with Vitest).
import type { OverdueLevel } from '../bindings/OverdueLevel'

export function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** `2025-06-02 10:00` in the device's local time. */
export function dateTime(ms: number | null | undefined): string {
  if (ms == null) return ''
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function date(ms: number | null | undefined): string {
  return dateTime(ms).slice(0, 10)
}

/** The Vant tag type for an overdue level: green, yellow (warning), red (danger). */
export function overdueColor(level: OverdueLevel | null | undefined): 'success' | 'warning' | 'danger' | 'default' {
  switch (level) {
    case 'Green':
      return 'success'
    case 'Yellow':
      return 'warning'
    case 'Red':
      return 'danger'
    default:
      return 'default'
  }
}

/** Whole days from `ms` to now, never negative. */
export function daysSince(ms: number, now = Date.now()): number {
  return Math.max(0, Math.floor((now - ms) / 86_400_000))
}

/** Run `f` at most once per `wait` ms after the last call (drafts are saved this way). */
export function debounce<A extends unknown[]>(f: (...a: A) => void, wait: number) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const wrapped = (...a: A) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      f(...a)
    }, wait)
  }
  wrapped.flush = (...a: A) => {
    if (timer) clearTimeout(timer)
    timer = undefined
    f(...a)
  }
  return wrapped
}

/** Keep only the answer to the latest request: searches answered out of order never win. */
export function latest<A extends unknown[], R>(f: (...a: A) => Promise<R>) {
  let seq = 0
  return async (...a: A): Promise<{ fresh: boolean; value: R }> => {
    const mine = ++seq
    const value = await f(...a)
    return { fresh: mine === seq, value }
  }
}
