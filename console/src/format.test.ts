import { describe, expect, it } from 'vitest'
import { actionsFor, fmtTime, localDay, overdueColor, pct } from './format'
import { qs } from './api'
import { messages } from './i18n'

describe('format', () => {
  it('shows times in Asia/Shanghai', () => {
    // 2026-05-03 06:05 UTC = 14:05 in Shanghai
    expect(fmtTime(Date.UTC(2026, 4, 3, 6, 5))).toBe('2026-05-03 14:05')
    expect(localDay(Date.UTC(2026, 4, 3, 20, 0))).toBe('2026-05-04')
    expect(fmtTime(null)).toBe('—')
  })
  it('formats rates', () => {
    expect(pct(0.625)).toBe('62.5%')
    expect(pct(null)).toBe('—')
  })
  it('colours overdue levels', () => {
    expect(overdueColor('Red')).toBe('#d93026')
    expect(overdueColor('Green')).toBe('#2e9d4f')
    expect(overdueColor(null)).toBe('#999')
  })
  it('offers the legal actions of each state', () => {
    expect(actionsFor('Reported')).toEqual(['File', 'Void'])
    expect(actionsFor('Checking')).toEqual(['Close', 'Return'])
    expect(actionsFor('Voided')).toEqual([])
  })
  it('builds query strings without empty values', () => {
    expect(qs({ a: 1, b: '', c: undefined, d: 'x y' })).toBe('?a=1&d=x+y')
    expect(qs({})).toBe('')
  })
  it('has the same keys in both languages', () => {
    const keys = (o: object, p = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' ? keys(v, `${p}${k}.`) : [`${p}${k}`]))
    expect(keys(messages.en).sort()).toEqual(keys(messages['zh-CN']).sort())
  })
})
