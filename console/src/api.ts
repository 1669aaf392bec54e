// The console API: same origin, session cookie, CSRF token on every state-changing call.
import { ref } from 'vue'

let csrf = ''

/** The server's message when a page's data is not served by this district's store (501
 *  `not_available`: a part not yet built on PostgreSQL). App.vue shows it as a banner, so a
 *  page never looks empty when it is in fact unavailable; cleared when the tab changes. */
export const unavailable = ref('')

function failed(status: number, data: any, statusText: string): ApiError {
  const err = new ApiError(status, data?.error ?? 'error', data?.message ?? statusText)
  if (status === 501 && err.code === 'not_available') unavailable.value = err.message
  return err
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message)
  }
}

export function setCsrf(token: string) {
  csrf = token
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf
  const resp = await fetch(`/console/api/${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await resp.text()
  const data = text ? JSON.parse(text) : null
  if (!resp.ok) throw failed(resp.status, data, resp.statusText)
  return data as T
}

export const get = <T>(path: string) => call<T>('GET', path)
export const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body)

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** POST a file's bytes as the body (an import); answers JSON like every other call. */
export async function upload<T>(path: string, file: Blob): Promise<T> {
  const resp = await fetch(`/console/api/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'X-CSRF-Token': csrf },
    credentials: 'same-origin',
    body: file,
  })
  const text = await resp.text()
  let data: any = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!resp.ok) throw failed(resp.status, data, resp.statusText)
  return data as T
}

/** POST JSON and save the answer as a file (an export); the file name comes from the server. */
export async function download(path: string, body: unknown): Promise<{ name: string; bytes: number }> {
  const resp = await fetch(`/console/api/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  })
  if (!resp.ok) {
    const data = await resp.json().catch(() => null)
    throw failed(resp.status, data, resp.statusText)
  }
  const blob = await resp.blob()
  const disposition = resp.headers.get('Content-Disposition') ?? ''
  const m = /filename\*=UTF-8''([^;]+)/.exec(disposition) ?? /filename="([^"]+)"/.exec(disposition)
  const name = m ? decodeURIComponent(m[1]) : 'export'
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return { name, bytes: blob.size }
}
