// The app PIN's lock on the UI side (issue 14). Rust decides (it refuses data commands
// while locked, counts wrong PINs, times the background); this keeps its answer, hides
// every screen behind /lock, and tells Rust when the window goes and comes back.
import { reactive } from 'vue'
import type { Router } from 'vue-router'
import type { AppError } from '../bindings/AppError'
import type { LockStatus } from '../bindings/LockStatus'
import { api } from './api'

export const LOCK_PATH = '/lock'
export const LOCK_MINUTES = [1, 5, 15, 30]

export const lock = reactive({
  status: null as LockStatus | null,
  /** Where the worker was when the app locked: opened again after the PIN. */
  resumeTo: '/today',
})

/** The route guard's decision: while locked every route leads to the lock screen, and
 *  the lock screen is left only when unlocked. */
export function guardTarget(locked: boolean, to: string): string | true {
  if (locked) return to === LOCK_PATH ? true : LOCK_PATH
  return to === LOCK_PATH ? '/today' : true
}

/** A new PIN as the form checks it before Rust does: 4–12 digits, not one digit repeated,
 *  typed the same twice. Returns the i18n key of the problem, or null. */
export function pinProblem(pin: string, repeat: string): string | null {
  if (!/^[0-9]{4,12}$/.test(pin)) return 'lock.pinFormat'
  if (/^(\d)\1*$/.test(pin)) return 'lock.pinWeak'
  if (pin !== repeat) return 'lock.pinMismatch'
  return null
}

type T = (key: string, named?: Record<string, unknown>) => string

/** What the lock screen says about a refused PIN. */
export function refusal(err: unknown, t: T): string {
  const e = err as AppError
  if (e?.code === 'pin_wrong') {
    if (e.wait_seconds > 0) return t('lock.wrongWait', { s: e.wait_seconds })
    return t('lock.wrong', { n: e.attempts_left })
  }
  if (e?.code === 'pin_wait') return t('lock.wait', { s: e.wait_seconds })
  return t('errors.unknown')
}

async function apply(s: LockStatus, router: Router) {
  lock.status = s
  const here = router.currentRoute.value.fullPath
  if (s.locked && router.currentRoute.value.path !== LOCK_PATH) {
    lock.resumeTo = here
    await router.replace(LOCK_PATH)
  }
}

export async function refreshLock(router: Router): Promise<LockStatus> {
  const s = await api.lockStatus()
  await apply(s, router)
  return s
}

export async function lockNow(router: Router) {
  await apply(await api.lockNow(), router)
}

export async function unlock(pin: string, router: Router) {
  const s = await api.unlock(pin)
  lock.status = s
  const to = lock.resumeTo && lock.resumeTo !== LOCK_PATH ? lock.resumeTo : '/today'
  await router.replace(to)
}

/** Install the guard and the background watch. */
export function installLock(router: Router) {
  router.beforeEach((to) => guardTarget(!!lock.status?.locked, to.path))
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) void api.appHidden()
    else void api.appVisible().then((s) => apply(s, router))
  })
}
