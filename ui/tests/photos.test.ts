import { describe, expect, it } from 'vitest'
import type { PhotoDto } from '../src/bindings/PhotoDto'
import type { TimelineEntry } from '../src/bindings/TimelineEntry'
import { MAX_FILE_BYTES, MAX_PHOTOS, beforeAfter, choose, formatBytes, isHeic, photoErrorText } from '../src/lib/photos'

const file = (name: string, size = 3_000_000, type = 'image/jpeg') => ({ name, size, type })
const photo = (sha: string): PhotoDto => ({ sha256: sha, bytes: 1, width: 1, height: 1, taken_at: 0, state: 'Pending' })
const entry = (kind: TimelineEntry['kind'], photos: PhotoDto[]): TimelineEntry => ({
  id: kind + photos.length, kind, at: 0, by_user: 'u', mine: true, note: '', department: null, deadline: null,
  applied: true, rejected_reason: null, state_after: null, photos,
})

describe('choosing photos', () => {
  it('takes up to nine in all and says once that the rest were left out', () => {
    const files = Array.from({ length: 6 }, (_, i) => file(`p${i}.jpg`))
    const r = choose(files, 5)
    expect(r.take.map((f) => f.name)).toEqual(['p0.jpg', 'p1.jpg', 'p2.jpg', 'p3.jpg'])
    expect(r.problems).toEqual([{ key: 'photo.tooMany', n: MAX_PHOTOS }])
    expect(choose([file('a.jpg')], MAX_PHOTOS).take).toEqual([])
  })

  it('refuses HEIC and oversized files before reading them, by type or by name', () => {
    expect(isHeic(file('IMG_0001.HEIC', 1, ''))).toBe(true)
    expect(isHeic(file('x', 1, 'image/heif'))).toBe(true)
    expect(isHeic(file('x.jpg'))).toBe(false)
    const r = choose([file('IMG_1.heic', 1, 'image/heic'), file('big.jpg', MAX_FILE_BYTES + 1), file('ok.png', MAX_FILE_BYTES, 'image/png')], 0)
    expect(r.take.map((f) => f.name)).toEqual(['ok.png'])
    expect(r.problems).toEqual([
      { key: 'photo.heic', name: 'IMG_1.heic' },
      { key: 'photo.tooLarge', name: 'big.jpg' },
    ])
  })
})

describe('before and after', () => {
  it('pairs the report photos with the latest handling that has photos', () => {
    const t = [
      entry('Report', [photo('a')]),
      entry('Comment', [photo('c')]),
      entry('Feedback', [photo('f1')]),
      entry('Check', []),
      entry('SelfHandle', [photo('s1'), photo('s2')]),
    ]
    const r = beforeAfter(t)
    expect(r.before.map((p) => p.sha256)).toEqual(['a'])
    expect(r.after.map((p) => p.sha256)).toEqual(['s1', 's2'])
    expect(beforeAfter([entry('Report', [photo('a')]), entry('Comment', [photo('c')])]).after).toEqual([])
  })
})

describe('sizes and messages', () => {
  it('formats bytes as people read them', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
    expect(formatBytes(300 * 1024)).toBe('300 KB')
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MB')
  })

  it('shows the half of a photo error in the UI language, and nothing for other errors', () => {
    const e = { code: 'photo', reason: 'heic', message: '不支持HEIC / HEIC is not supported' }
    expect(photoErrorText(e, 'zh-CN')).toBe('不支持HEIC')
    expect(photoErrorText(e, 'en')).toBe('HEIC is not supported')
    expect(photoErrorText({ code: 'offline', message: 'x' }, 'en')).toBeNull()
  })
})
