// Photos in the UI: what may be taken (checked before a byte is read), how big, which
// photos are "before" and "after" on an issue, and the bytes the app serves as object URLs.
import { invoke } from '@tauri-apps/api/core'
import type { AppError } from '../bindings/AppError'
import type { PhotoDto } from '../bindings/PhotoDto'
import type { PhotoSize } from '../bindings/PhotoSize'
import type { TimelineEntry } from '../bindings/TimelineEntry'

/** At most this many photos on one issue, event or visit (core's MAX_PHOTOS). */
export const MAX_PHOTOS = 9
/** The largest file the app reads (the photo crate's MAX_INPUT_BYTES): 40 MiB. */
export const MAX_FILE_BYTES = 40 * 1024 * 1024

export interface PickedFile {
  name: string
  type: string
  size: number
}

export type PickProblem = { key: 'photo.tooMany'; n: number } | { key: 'photo.tooLarge'; name: string } | { key: 'photo.heic'; name: string }

/** HEIC/HEIF (iPhones' default): refused, with the way out (camera "Most Compatible"). */
export function isHeic(f: PickedFile): boolean {
  return /image\/hei[cf]/i.test(f.type) || /\.hei[cf]$/i.test(f.name)
}

/** Which of the picked files to prepare, and why the others are not. `already` photos
 *  are on the form. Size and format are checked here before the file is read; Rust
 *  checks both again (and the content) when it prepares the photo. */
export function choose<F extends PickedFile>(files: F[], already: number): { take: F[]; problems: PickProblem[] } {
  const take: F[] = []
  const problems: PickProblem[] = []
  for (const f of files) {
    if (isHeic(f)) problems.push({ key: 'photo.heic', name: f.name })
    else if (f.size > MAX_FILE_BYTES) problems.push({ key: 'photo.tooLarge', name: f.name })
    else if (already + take.length >= MAX_PHOTOS) {
      if (!problems.some((p) => p.key === 'photo.tooMany')) problems.push({ key: 'photo.tooMany', n: MAX_PHOTOS })
    } else take.push(f)
  }
  return { take, problems }
}

/** 1536 → "1.5 KB"; bytes as people read them. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`
}

const AFTER_KINDS = new Set(['Feedback', 'SelfHandle', 'Check'])

/** The report's photos ("before") and the handling's (feedback, self-handled, check:
 *  "after"), the latest handling's only, for the side-by-side view. */
export function beforeAfter(timeline: TimelineEntry[]): { before: PhotoDto[]; after: PhotoDto[] } {
  const before = timeline.filter((e) => e.kind === 'Report').flatMap((e) => e.photos)
  const handled = timeline.filter((e) => AFTER_KINDS.has(e.kind) && e.photos.length > 0)
  const after = handled.length ? handled[handled.length - 1].photos : []
  return { before, after }
}

/** A photo error's sentence in the UI's language: Rust's "中文 / English" halves. */
export function photoErrorText(e: unknown, locale: string): string | null {
  if (e && typeof e === 'object' && (e as AppError).code === 'photo') {
    const parts = (e as { message: string }).message.split(' / ')
    return parts.length === 2 ? (locale.startsWith('zh') ? parts[0] : parts[1]) : (e as { message: string }).message
  }
  return null
}

/** Prepares and keeps a photo (Rust, off the UI thread): the file's bytes as the body. */
export async function takePhoto(file: Blob): Promise<PhotoDto> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  try {
    return await invoke<PhotoDto>('take_photo', bytes)
  } catch (e) {
    if (e && typeof e === 'object' && 'code' in e) throw e
    const err: AppError = { code: 'storage', message: String(e) }
    throw err
  }
}

const urls = new Map<string, Promise<string>>()

/** An object URL of the thumbnail or the full photo (downloaded on demand when not on
 *  the device); kept for the session, a failure forgotten so that it is asked again. */
export function photoUrl(sha256: string, size: PhotoSize): Promise<string> {
  const key = `${size}:${sha256}`
  let u = urls.get(key)
  if (!u) {
    u = invoke<ArrayBuffer>('get_photo', { sha256, size }).then((buf) => URL.createObjectURL(new Blob([buf], { type: 'image/jpeg' })))
    u.catch(() => urls.delete(key))
    urls.set(key, u)
  }
  return u
}
