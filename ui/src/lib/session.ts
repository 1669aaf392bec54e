// App-wide state: the device's status, the sync worker's state, reference lists.
import { reactive } from 'vue'
import type { Reference } from '../bindings/Reference'
import type { Status } from '../bindings/Status'
import type { SyncState } from '../bindings/SyncState'
import { api, events } from './api'

export const session = reactive({
  status: null as Status | null,
  sync: null as SyncState | null,
  reference: null as Reference | null,
  /** Bumped when synced data arrived: lists reload. */
  dataVersion: 0,
  revoked: false,
})

export async function refreshStatus() {
  session.status = await api.status()
  session.sync = session.status.sync
  return session.status
}

let started = false
export async function startSession(onRevoked: () => void) {
  if (started) return
  started = true
  session.reference = await api.reference()
  await events.onSyncState((s) => {
    session.sync = s
    // While the PIN lock is on, the status is refused: nothing to show anyway.
    if (!s.running) void refreshStatus().catch(() => {})
  })
  await events.onDataChanged(() => {
    session.dataVersion++
  })
  await events.onRevoked(() => {
    session.revoked = true
    void refreshStatus().then(onRevoked)
  })
}

export function tagLabel(code: string, locale: string): string {
  const t = session.reference?.care_tags.find((x) => x.code === code)
  if (!t) return code
  return locale.startsWith('zh') ? t.zh : t.en
}

export function categoryLabel(code: string, locale: string): string {
  const c = session.reference?.categories.find((x) => x.code === code)
  if (!c) return code
  return locale.startsWith('zh') ? c.zh : c.en
}
