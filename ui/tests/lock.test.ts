import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import zh from '../src/i18n/zh-CN'
import en from '../src/i18n/en'
import { LOCK_PATH, guardTarget, pinProblem, refusal } from '../src/lib/lock'

function tr(locale: 'zh-CN' | 'en') {
  const i18n = createI18n({ legacy: false, locale, messages: { 'zh-CN': zh, en } })
  return i18n.global.t as (key: string, named?: Record<string, unknown>) => string
}

describe('app PIN lock', () => {
  it('sends every route to the lock screen while locked, and nowhere else', () => {
    for (const to of ['/today', '/households', '/household/abc', '/issues', '/sync', '/first-run', '/']) {
      expect(guardTarget(true, to), to).toBe(LOCK_PATH)
      expect(guardTarget(false, to), to).toBe(true)
    }
    expect(guardTarget(true, LOCK_PATH)).toBe(true)
    // Unlocked, the lock screen is not a place to stay.
    expect(guardTarget(false, LOCK_PATH)).toBe('/today')
  })

  it('checks a new PIN before sending it: digits, length, not one digit, typed twice', () => {
    expect(pinProblem('2468', '2468')).toBeNull()
    expect(pinProblem('123456789012', '123456789012')).toBeNull()
    expect(pinProblem('123', '123')).toBe('lock.pinFormat')
    expect(pinProblem('1234567890123', '1234567890123')).toBe('lock.pinFormat')
    expect(pinProblem('12a4', '12a4')).toBe('lock.pinFormat')
    expect(pinProblem('１２３４', '１２３４')).toBe('lock.pinFormat')
    expect(pinProblem('0000', '0000')).toBe('lock.pinWeak')
    expect(pinProblem('2468', '2469')).toBe('lock.pinMismatch')
  })

  it('says how many tries are left, or how long to wait, in Chinese first', () => {
    const zhT = tr('zh-CN')
    const enT = tr('en')
    const wrong = { code: 'pin_wrong', message: 'wrong PIN', attempts_left: 3, wait_seconds: 0 }
    expect(refusal(wrong, zhT)).toBe('PIN 码不对，还可以再试 3 次')
    expect(refusal(wrong, enT)).toBe('Wrong PIN: 3 tries left')
    const fifth = { ...wrong, attempts_left: 0, wait_seconds: 30 }
    expect(refusal(fifth, zhT)).toContain('30 秒后再试')
    const waiting = { code: 'pin_wait', message: 'wait', wait_seconds: 12 }
    expect(refusal(waiting, enT)).toBe('Too many wrong PINs: try again in 12 s')
    expect(refusal({ code: 'storage', message: 'x' }, zhT)).toBe('出错了')
  })
})
