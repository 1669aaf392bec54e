// Turn the app's typed errors into words a grid worker understands.
import type { AppError } from '../bindings/AppError'
import type { FieldErrorDto } from '../bindings/FieldErrorDto'

type T = (key: string, named?: Record<string, unknown>) => string
type Te = (key: string) => boolean

/** The field a path names: `members.<id>.phone` → `phone`, `address.room` → `room`. */
export function fieldOf(path: string): string {
  const parts = path.split('.').filter(Boolean)
  return parts.length ? parts[parts.length - 1] : path
}

/** One field error in plain words, in the UI's language; core's own sentence as fallback. */
export function fieldMessage(e: FieldErrorDto, t: T, te: Te, locale: string): string {
  const field = fieldOf(e.path)
  const label = te(`fields.${field}`) ? t(`fields.${field}`) : field
  if (te(`fieldCodes.${e.code}`)) return t(`fieldCodes.${e.code}`, { field: label })
  return coreSentence(e.message, locale)
}

/** Core writes "中文 / English": keep the half in the UI's language. */
export function coreSentence(message: string, locale: string): string {
  const parts = message.split(' / ')
  if (parts.length === 2) return locale.startsWith('zh') ? parts[0] : parts[1]
  return message
}

/** Field path → message, for showing each error under its input. */
export function fieldErrors(err: unknown, t: T, te: Te, locale: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (err && typeof err === 'object' && (err as AppError).code === 'invalid') {
    for (const f of (err as Extract<AppError, { code: 'invalid' }>).fields) {
      const key = fieldOf(f.path)
      out[key] = out[key] ? `${out[key]}；${fieldMessage(f, t, te, locale)}` : fieldMessage(f, t, te, locale)
    }
  }
  return out
}

/** The sentence for a whole error. */
export function errorMessage(err: unknown, t: T, te: Te): string {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = String((err as AppError).code)
    if (te(`errors.${code}`)) return t(`errors.${code}`)
  }
  return t('errors.unknown')
}
