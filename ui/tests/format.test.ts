import { describe, expect, it, vi } from 'vitest'
import { daysSince, debounce, latest, overdueColor, pad } from '../src/lib/format'

describe('format helpers', () => {
  it('colours overdue levels green, yellow, red', () => {
    expect(overdueColor('Green')).toBe('success')
    expect(overdueColor('Yellow')).toBe('warning')
    expect(overdueColor('Red')).toBe('danger')
    expect(overdueColor(null)).toBe('default')
  })

  it('pads and counts days', () => {
    expect(pad(3)).toBe('03')
    expect(daysSince(0, 86_400_000 * 3 + 5)).toBe(3)
    expect(daysSince(10, 0)).toBe(0)
  })

  it('keeps only the latest answer when searches come back out of order', async () => {
    const resolvers: Array<(v: string) => void> = []
    const search = latest((q: string) => new Promise<string>((r) => resolvers.push(() => r(q))))
    const first = search('z')
    const second = search('zs')
    resolvers[1]('zs')
    resolvers[0]('z')
    expect(await second).toEqual({ fresh: true, value: 'zs' })
    expect(await first).toEqual({ fresh: false, value: 'z' })
  })

  it('debounces and flushes', () => {
    vi.useFakeTimers()
    const f = vi.fn()
    const d = debounce(f, 300)
    d()
    d()
    vi.advanceTimersByTime(299)
    expect(f).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(f).toHaveBeenCalledTimes(1)
    d()
    d.flush()
    expect(f).toHaveBeenCalledTimes(2)
    vi.advanceTimersByTime(1000)
    expect(f).toHaveBeenCalledTimes(2)
    vi.useRealTimers()
  })
})
