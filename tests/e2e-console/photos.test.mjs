// Photos end to end: the device (gridwalk-cli) reports an issue with a photo, handles it
// itself with an "after" photo and records a visit with a photo; documents sync first, the
// bytes upload after them. The supervisor sees them in the console: thumbnails on the
// timeline, before and after side by side, the full photo on click, the visit's photo.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, lastJson, launchBrowser, shots, startServer } from './lib.mjs'

const fixture = (name) => join(import.meta.dirname, 'fixtures', name)

test('photos taken on the device show in the console, scoped and before/after', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-console-photos-'))
  const srv = await startServer(join(tmp, 'server'))
  let browser
  try {
    const sup = srv.out.split('\n').map((l) => l.trim().split(/\s+/)).find((c) => c[1] === 'supervisor')[0]
    const pw = srv.out.match(/password "([^"]+)"/)[1]
    const dev = join(tmp, 'device')
    cli(dev, 'enroll', '--server', srv.url, '--code', srv.code, '--name', 'e2e phone')
    cli(dev, 'sync')
    const hh = JSON.parse(cli(dev, 'households', '--limit', '1').split('\n')[0]).doc_id
    const issueId = lastJson(cli(dev, 'report', '--household', hh, '--category', 'environment_sanitation',
      '--title', '楼道堆放纸箱（随手拍）', '--photo', fixture('before.jpg'))).issue_id
    const visitId = lastJson(cli(dev, 'visit', hh, '--findings', '楼道已清理', '--photo', fixture('after.jpg'))).visit_id
    const first = lastJson(cli(dev, 'sync'))
    assert.equal(first.photos_uploaded, 2, JSON.stringify(first))
    assert.equal(first.photos_pending, 0)
    cli(dev, 'event', issueId, '--kind', 'SelfHandle', '--note', '已当场清理', '--photo', fixture('after.jpg'))
    const second = lastJson(cli(dev, 'sync'))
    // The same photo again is one blob: nothing left to upload.
    assert.equal(second.photos_pending, 0, JSON.stringify(second))
    // An issue reported without a photo: the supervisor files it with one of their own.
    const plainId = lastJson(cli(dev, 'report', '--household', hh, '--category', 'environment_sanitation',
      '--title', '路灯不亮（网格长现场核实）')).issue_id
    cli(dev, 'sync')

    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
    await page.goto(`${srv.url}/console/`)
    await page.waitForSelector('[data-testid=login]')
    await page.fill('input[name=username]', sup)
    await page.fill('input[name=password]', pw)
    await page.click('[data-testid=login-submit]')
    await page.waitForSelector('[data-testid=whoami]')

    await page.click('[data-testid=issues-all]')
    const row = page.locator(`tr[data-issue="${issueId}"]`)
    await row.waitFor()
    await row.click()
    await page.waitForSelector('[data-testid=before-after]')
    // Every thumbnail loaded as an image (a photo not uploaded would show "uploading").
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid=issue-detail] img[data-testid=photo-thumb]')]
      return imgs.length >= 4 && imgs.every((i) => i.complete && i.naturalWidth > 0)
    })
    const widths = await page.$$eval('[data-testid=before-after] img', (imgs) => imgs.map((i) => i.naturalWidth))
    assert.equal(widths.length, 2)
    assert.ok(widths.every((w) => w > 0 && w <= 256), `thumbnails: ${widths}`)
    await page.screenshot({ path: join(shots, 'photos-01-issue-before-after.png') })
    await page.locator('[data-testid=before-after] img').first().click()
    await page.waitForFunction(() => document.querySelector('[data-testid=photo-full] img')?.naturalWidth === 1600)
    await page.screenshot({ path: join(shots, 'photos-02-full.png') })
    await page.click('[data-testid=photo-full]')

    // A photo outside the supervisor's scope is not found, like the record.
    const status = await page.evaluate(async () => (await fetch('/console/api/photos/' + 'a'.repeat(64) + '?size=thumb')).status)
    assert.equal(status, 404)

    await page.click('[data-testid=nav-visits]')
    const vrow = page.locator(`tr[data-visit="${visitId}"]`)
    await vrow.waitFor()
    await vrow.click()
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=visit-detail] img[data-testid=photo-thumb]')
      return img?.complete && img.naturalWidth > 0
    })
    await page.screenshot({ path: join(shots, 'photos-03-visit.png') })

    // The supervisor's own step carries a photo: picked, prepared by the server, shown at
    // once, then on the File event of the timeline once the step is taken.
    await page.click('[data-testid=nav-issues]')
    await page.click('[data-testid=issues-inbox]')
    const prow = page.locator(`tr[data-issue="${plainId}"]`)
    await prow.waitFor()
    await prow.click()
    await page.waitForSelector('[data-testid=act-File]')
    await page.setInputFiles('[data-testid=issue-photo-input]', fixture('before.jpg'))
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=issue-photo-attached]')
      return img?.complete && img.naturalWidth > 0
    })
    await page.fill('[data-testid=issue-note]', '现场核实属实，附照片')
    await page.screenshot({ path: join(shots, 'photos-04-attach-before-file.png') })
    await page.click('[data-testid=act-File]')
    await page.waitForFunction(() => document.querySelector('[data-testid=issue-state]')?.textContent?.includes('已立案'))
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid=issue-detail] .timeline img[data-testid=photo-thumb]')]
      return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0 && imgs[0].naturalWidth <= 256
    })
    assert.equal(await page.locator('[data-testid=issue-photo-attached]').count(), 0, 'the picked photos are cleared')
    await page.screenshot({ path: join(shots, 'photos-05-filed-with-photo.png') })
    // The device receives the step with the photo's metadata on its next sync.
    cli(dev, 'sync')
  } finally {
    await browser?.close()
    srv.child.kill()
    rmSync(tmp, { recursive: true, force: true })
  }
})
