// Drafts: a half-filled form is saved to the device's store as it is typed (a few hundred
// ms after each change, and at once when the page is hidden), so it survives closing the
// app and a crash; it is restored when the form opens again, and cleared once submitted.
import { watch, type Ref } from 'vue'
import { api } from './api'
import { debounce } from './format'

export interface DraftStore {
  save(key: string, json: string): Promise<unknown>
  load(key: string): Promise<string | null>
  clear(key: string): Promise<unknown>
}

const tauriStore: DraftStore = { save: api.saveDraft, load: api.loadDraft, clear: api.clearDraft }

/** Merge a saved draft into the form's defaults; unknown keys and wrong types are dropped. */
export function mergeDraft<T extends Record<string, unknown>>(defaults: T, json: string | null): T | null {
  if (!json) return null
  let saved: unknown
  try {
    saved = JSON.parse(json)
  } catch {
    return null
  }
  if (!saved || typeof saved !== 'object') return null
  const out: Record<string, unknown> = { ...defaults }
  let any = false
  for (const [k, v] of Object.entries(saved as Record<string, unknown>)) {
    if (!(k in defaults)) continue
    const d = defaults[k]
    if (d === null || v === null || typeof d === typeof v) {
      out[k] = v
      any = true
    }
  }
  return any ? (out as T) : null
}

/**
 * Keep `form` saved under `key` while it is edited. When `pristine(form)` holds (nothing
 * typed beyond what is saved for real), the draft is removed instead of saved.
 */
export function useDraft<T extends Record<string, unknown>>(
  key: string,
  form: Ref<T>,
  pristine: (v: T) => boolean = () => false,
  store: DraftStore = tauriStore,
) {
  const defaults = JSON.parse(JSON.stringify(form.value)) as T
  let restoring = false
  let cleared = false
  const save = debounce(() => {
    if (cleared) return
    if (pristine(form.value)) void store.clear(key)
    else void store.save(key, JSON.stringify(form.value))
  }, 300)
  const stop = watch(form, () => {
    if (!restoring) save()
  }, { deep: true })
  const onHide = () => {
    if (document.visibilityState === 'hidden') save.flush()
  }
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onHide)

  return {
    /** Restore a saved draft; true when there was one. */
    async restore(): Promise<boolean> {
      restoring = true
      try {
        const merged = mergeDraft(defaults, await store.load(key))
        if (merged) form.value = merged
        return merged !== null
      } finally {
        restoring = false
      }
    },
    /** Save now (before leaving the page). */
    flush: () => save.flush(),
    /** The form was submitted: forget the draft. */
    async clear() {
      cleared = true
      stop()
      await store.clear(key)
    },
    dispose() {
      stop()
      if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onHide)
    },
  }
}
