import { describe, expect, it } from 'vitest'
import zh from '../src/i18n/zh-CN'
import en from '../src/i18n/en'

function keys(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object') return [prefix]
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
}

function get(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((a, k) => (a as Record<string, unknown>)?.[k], o)
}

describe('i18n', () => {
  it('has the same keys in Chinese and English', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })

  it('has no empty text and the same placeholders in both languages', () => {
    for (const k of keys(zh)) {
      const a = get(zh, k) as string
      const b = get(en, k) as string
      expect(a, k).not.toBe('')
      expect(b, k).not.toBe('')
      expect(placeholders(b), k).toEqual(placeholders(a))
    }
  })

  it('names every error code the app and core can send', () => {
    // AppError codes (src-tauri/src/error.rs) and core's FieldError codes (core/src/validate.rs).
    const appCodes = ['invalid', 'not_enrolled', 'not_found', 'offline', 'unauthorized', 'revoked', 'forbidden', 'server', 'busy', 'bad_request', 'storage', 'locked', 'pin_wrong', 'pin_wait']
    const fieldCodes = ['Required', 'BadLength', 'BadChars', 'BadCheckDigit', 'BadDate', 'BirthDateMismatch', 'SexMismatch', 'BadPhone', 'BadEnum', 'BadCode', 'OutOfRange', 'UnknownTag', 'NotFound', 'Duplicate', 'KeyMismatch', 'BadPin', 'WeakPin']
    for (const c of appCodes) expect(get(zh, `errors.${c}`), c).toBeTypeOf('string')
    for (const c of fieldCodes) expect(get(zh, `fieldCodes.${c}`), c).toBeTypeOf('string')
  })

  it('labels every enum value', () => {
    const enums: Record<string, string[]> = {
      IssueState: ['Reported', 'Filed', 'Dispatched', 'InProgress', 'Feedback', 'Checking', 'Closed', 'SelfHandled', 'Voided', 'Evaluated'],
      EventKind: ['Report', 'File', 'Void', 'SelfHandle', 'Dispatch', 'Accept', 'Feedback', 'Check', 'Close', 'Return', 'Evaluate', 'Comment'],
      VisitMode: ['InPerson', 'Phone', 'Messaging', 'OnBehalf'],
      OverdueLevel: ['Green', 'Yellow', 'Red'],
      VisitRule: ['Weekly', 'Monthly', 'Quarterly'],
    }
    for (const [e, values] of Object.entries(enums)) {
      for (const v of values) expect(get(zh, `enum.${e}.${v}`), `${e}.${v}`).toBeTypeOf('string')
    }
  })
})
