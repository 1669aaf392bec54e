// The supervisor's console end to end: device syncs a visit and an issue; the supervisor
// signs in, flags the visit, files and dispatches the issue; the device syncs and sees both.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, lastJson, launchBrowser, shots, startServer } from './lib.mjs'

test('supervisor flags a visit and dispatches an issue; the device sees both', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-console-e2e-'))
  const srv = await startServer(join(tmp, 'server'))
  let browser
  try {
    // The supervisor of the first worker's community is listed first after the admin.
    const sup = srv.out.split('\n').map((l) => l.trim().split(/\s+/)).find((c) => c[1] === 'supervisor')[0]
    const pw = srv.out.match(/password "([^"]+)"/)[1]

    // The device: enroll, full sync, record a visit and report an issue, sync.
    const dev = join(tmp, 'device')
    cli(dev, 'enroll', '--server', srv.url, '--code', srv.code, '--name', 'e2e phone')
    cli(dev, 'sync')
    const hh = JSON.parse(cli(dev, 'households', '--limit', '1').split('\n')[0]).doc_id
    const visitId = lastJson(cli(dev, 'visit', hh, '--findings', '独居老人家中燃气灶老化，已提醒更换')).visit_id
    const issueId = lastJson(cli(dev, 'report', '--household', hh, '--category', 'environment_sanitation', '--title', '楼道堆放杂物影响通行', '--description', '3栋2单元楼道堆满纸箱')).issue_id
    cli(dev, 'sync')

    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
    await page.goto(`${srv.url}/console/`)
    await page.waitForSelector('[data-testid=login]')
    await page.screenshot({ path: join(shots, '01-login.png') })
    await page.fill('input[name=username]', sup)
    await page.fill('input[name=password]', 'wrong password')
    await page.click('[data-testid=login-submit]')
    await page.waitForSelector('[data-testid=login-error]')
    await page.fill('input[name=password]', pw)
    await page.click('[data-testid=login-submit]')
    await page.waitForSelector('[data-testid=whoami]')

    // Visit review: the device's visit is listed; flag it with a comment.
    await page.click('[data-testid=nav-visits]')
    const row = page.locator(`tr[data-visit="${visitId}"]`)
    await row.waitFor()
    await row.click()
    await page.fill('[data-testid=visit-comment]', '请补充燃气灶照片并跟进更换情况')
    await page.click('[data-testid=visit-flag]')
    await page.waitForFunction(() => document.querySelector('[data-testid=visit-review-status]')?.textContent?.includes('已标记'))
    await page.screenshot({ path: join(shots, '02-visit-flagged.png') })

    // Issue desk: the reported issue is in the inbox; file it, then dispatch it.
    await page.click('[data-testid=nav-issues]')
    const irow = page.locator(`tr[data-issue="${issueId}"]`)
    await irow.waitFor()
    await page.screenshot({ path: join(shots, '03-inbox.png') })
    await irow.click()
    await page.fill('[data-testid=issue-note]', '属实，立案')
    await page.click('[data-testid=act-File]')
    await page.waitForFunction(() => document.querySelector('[data-testid=issue-state]')?.textContent === '已立案')
    await page.selectOption('[data-testid=issue-department-select]', 'sanitation')
    await page.fill('[data-testid=issue-note]', '请环卫三个工作日内清理')
    await page.click('[data-testid=act-Dispatch]')
    await page.waitForFunction(() => document.querySelector('[data-testid=issue-state]')?.textContent === '已派遣')
    const dep = await page.textContent('[data-testid=issue-department]')
    assert.equal(dep.trim(), '环卫')
    await page.click('[data-testid=issues-track]')
    await page.screenshot({ path: join(shots, '04-issue-dispatched.png') })

    await page.click('[data-testid=nav-indicators]')
    await page.waitForSelector('[data-testid=kpi-closure]')
    await page.waitForTimeout(800)
    await page.screenshot({ path: join(shots, '05-indicators.png') })
    await page.click('[data-testid=nav-households]')
    await page.waitForSelector('[data-testid=household-list] tbody tr')
    await page.locator('[data-testid=household-list] tbody tr').first().click()
    await page.waitForSelector('[data-testid=household-detail]')
    await page.screenshot({ path: join(shots, '06-household.png') })
    await page.click('[data-testid=nav-devices]')
    await page.waitForSelector('[data-testid=device-list] tbody tr')
    await page.screenshot({ path: join(shots, '07-sync-logs.png') })

    // The device syncs and sees the flag and the dispatch.
    cli(dev, 'sync')
    const visit = JSON.parse(cli(dev, 'show', visitId))
    const v = visit.document ?? visit.doc ?? visit
    assert.equal(v.review?.status, 'Flagged', JSON.stringify(visit))
    assert.equal(v.review?.comment, '请补充燃气灶照片并跟进更换情况')
    const issue = JSON.parse(cli(dev, 'show', issueId))
    const i = issue.document ?? issue.doc ?? issue
    const kinds = Object.values(i.events).map((e) => e.kind)
    assert.ok(kinds.includes('File') && kinds.includes('Dispatch'), JSON.stringify(kinds))
    const dispatch = Object.values(i.events).find((e) => e.kind === 'Dispatch')
    assert.equal(dispatch.department, 'sanitation')
    assert.ok(dispatch.deadline > Date.now())
  } finally {
    await browser?.close()
    srv.child.kill('SIGTERM')
    rmSync(tmp, { recursive: true, force: true })
  }
})
