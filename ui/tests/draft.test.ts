import { describe, expect, it, vi } from 'vitest'
import { nextTick, ref } from 'vue'
import { mergeDraft, useDraft, type DraftStore } from '../src/lib/draft'

vi.mock('../src/lib/api', () => ({ api: {} }))

function memoryStore() {
  const m = new Map<string, string>()
  const store: DraftStore = {
    save: async (k, v) => m.set(k, v),
    load: async (k) => m.get(k) ?? null,
    clear: async (k) => m.delete(k),
  }
  return { m, store }
}

describe('drafts', () => {
  it('merges a saved draft into the defaults, dropping junk', () => {
    const defaults = { findings: '', follow_up: '', linked: [] as string[], lat: null as number | null }
    expect(mergeDraft(defaults, '{"findings":"漏水","other":1,"linked":"x"}')).toEqual({ ...defaults, findings: '漏水' })
    expect(mergeDraft(defaults, '{"lat":28.1}')).toEqual({ ...defaults, lat: 28.1 })
    expect(mergeDraft(defaults, 'not json')).toBeNull()
    expect(mergeDraft(defaults, null)).toBeNull()
    expect(mergeDraft(defaults, '{"unknown":1}')).toBeNull()
  })

  it('saves as the form is typed, restores it, and forgets it when submitted', async () => {
    vi.useFakeTimers()
    const { m, store } = memoryStore()
    const form = ref({ findings: '', needs: '' })
    const d = useDraft('visit:h1', form, (v) => !v.findings && !v.needs, store)
    form.value.findings = '老人独居，'
    await nextTick()
    vi.advanceTimersByTime(300)
    expect(JSON.parse(m.get('visit:h1')!)).toEqual({ findings: '老人独居，', needs: '' })

    // A new page (after a crash) restores it.
    const again = ref({ findings: '', needs: '' })
    const d2 = useDraft('visit:h1', again, () => false, store)
    expect(await d2.restore()).toBe(true)
    expect(again.value.findings).toBe('老人独居，')

    // Emptied again: the draft goes away instead of being saved.
    form.value.findings = ''
    await nextTick()
    vi.advanceTimersByTime(300)
    expect(m.has('visit:h1')).toBe(false)

    form.value.needs = 'x'
    await nextTick()
    await d.clear()
    vi.advanceTimersByTime(1000)
    expect(m.has('visit:h1')).toBe(false)
    vi.useRealTimers()
  })
})
