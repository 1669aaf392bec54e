import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import zh from '../src/i18n/zh-CN'
import en from '../src/i18n/en'
import { coreSentence, errorMessage, fieldErrors, fieldOf, fieldMessage } from '../src/lib/errors'
import type { AppError } from '../src/bindings/AppError'

const i18n = createI18n({ legacy: false, locale: 'zh-CN', messages: { 'zh-CN': zh, en } })
const g = i18n.global
const t = (k: string, n?: Record<string, unknown>) => (n ? g.t(k, n) : g.t(k))
const te = (k: string) => g.te(k)

describe('field errors in plain words', () => {
  it('takes the field from the path', () => {
    expect(fieldOf('members.0190abcd.id_number')).toBe('id_number')
    expect(fieldOf('address.room')).toBe('room')
    expect(fieldOf('title')).toBe('title')
  })

  it('translates code and field', () => {
    g.locale.value = 'zh-CN'
    expect(fieldMessage({ path: 'members.p1.id_number', code: 'BadCheckDigit', message: 'x / y' }, t, te, 'zh-CN')).toBe('身份证号的最后一位校验码不对，请核对号码')
    expect(fieldMessage({ path: 'members.p1.phone', code: 'BadPhone', message: '' }, t, te, 'zh-CN')).toContain('电话格式不对')
    g.locale.value = 'en'
    expect(fieldMessage({ path: 'title', code: 'Required', message: '' }, t, te, 'en')).toBe('Title is required')
    g.locale.value = 'zh-CN'
  })

  it("falls back to core's sentence in the UI's language", () => {
    expect(coreSentence('手机号不对 / bad phone', 'zh-CN')).toBe('手机号不对')
    expect(coreSentence('手机号不对 / bad phone', 'en')).toBe('bad phone')
    expect(fieldMessage({ path: 'x', code: 'SomethingNew', message: '新的 / new' }, t, te, 'en')).toBe('new')
  })

  it('maps an invalid error to messages by field', () => {
    const err: AppError = {
      code: 'invalid',
      message: 'invalid',
      fields: [
        { path: 'members.p1.name', code: 'Required', message: '' },
        { path: 'members.p1.phone', code: 'BadPhone', message: '' },
      ],
    }
    const m = fieldErrors(err, t, te, 'zh-CN')
    expect(m.name).toBe('姓名必须填写')
    expect(Object.keys(m).sort()).toEqual(['name', 'phone'])
    expect(fieldErrors({ code: 'offline', message: 'x' }, t, te, 'zh-CN')).toEqual({})
  })

  it('words a whole error for a grid worker', () => {
    expect(errorMessage({ code: 'offline', message: 'connection refused' }, t, te)).toContain('没有网络')
    expect(errorMessage(new Error('boom'), t, te)).toBe('出错了')
  })
})
