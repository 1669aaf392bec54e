// Stored script: text that devices and admins write (device name, household notes, visit
// findings and needs, issue title and description, a worker's name and a grid's name shown
// in the indicator charts) must render as text on every page of the console, chart
// tooltips included. No dialog may open and no injected element may exist.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, demoUsers, lastJson, launchBrowser, shots, signIn, startServer } from './lib.mjs'

const IMG = '<img src=x onerror=alert(1)>'
const SCRIPT = '<script>alert(2)</script>'
const PAYLOAD = `${IMG}${SCRIPT}`

/** A signed-in API client (cookie and CSRF token) for the admin's set-up steps. */
async function api(url, username, password) {
  const r = await fetch(`${url}/console/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
  })
  assert.equal(r.status, 200)
  const cookie = r.headers.get('set-cookie').split(';')[0]
  const { csrf } = await r.json()
  const call = async (method, path, body) => {
    const res = await fetch(`${url}/console/api/${path}`, {
      method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    })
    const text = await res.text()
    assert.equal(res.status, 200, `${method} ${path}: ${text}`)
    return JSON.parse(text)
  }
  return call
}

/** Dialogs opened, and elements or attributes the payload would have made. */
async function injected(page, dialogs) {
  const found = await page.evaluate(() => [
    ...document.querySelectorAll('img[src="x"], [onerror], [onload], [onclick]'),
    ...[...document.querySelectorAll('script')].filter((s) => /alert\(/.test(s.textContent)),
  ].map((e) => e.outerHTML))
  return [...dialogs, ...found]
}

test('stored script renders as text everywhere in the console', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-console-xss-'))
  const srv = await startServer(join(tmp, 'server'))
  let browser
  try {
    const { users, password } = demoUsers(srv.out)
    const admin = users.find((u) => u.role === 'admin').username

    // The device writes the payload into every free-text field it has.
    const dev = join(tmp, 'device')
    cli(dev, 'enroll', '--server', srv.url, '--code', srv.code, '--name', PAYLOAD)
    cli(dev, 'sync')
    const hh = JSON.parse(cli(dev, 'households', '--limit', '1').split('\n')[0]).doc_id
    cli(dev, 'edit', hh, '--set', `notes=${PAYLOAD}`)
    const visitId = lastJson(cli(dev, 'visit', hh, '--findings', PAYLOAD, '--needs', PAYLOAD)).visit_id
    const issueId = lastJson(cli(dev, 'report', '--household', hh, '--category', 'environment_sanitation', '--title', PAYLOAD, '--description', PAYLOAD)).issue_id
    cli(dev, 'sync')

    // The admin names the device's worker and its grid with the payload (chart labels).
    const call = await api(srv.url, admin, password)
    const worker = (await call('GET', 'admin/users')).items.find((u) => u.role === 'worker' && u.active_devices > 0)
    await call('POST', `admin/users/${worker.user_id}`, { ...worker, display_name: IMG })
    const area = await call('GET', 'admin/area')
    const grid = area.grids.find((g) => worker.grids.includes(g.id))
    await call('POST', 'admin/area', { level: 'grid', ...grid, name: IMG })

    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
    const dialogs = []
    page.on('dialog', async (d) => { dialogs.push(`dialog: ${d.message()}`); await d.dismiss() })
    await signIn(page, srv.url, admin, password)

    // Households: the list, then the household with the notes.
    await page.click('[data-testid=nav-households]')
    await page.waitForSelector('[data-testid=household-list] tbody tr')
    await page.selectOption('.toolbar select', grid.id)
    await page.locator(`tr[data-household="${hh}"]`).click()
    await page.waitForSelector('[data-testid=household-detail]')
    // (The console's household detail shows members, conflicts and history, not notes.)
    assert.deepEqual(await injected(page, dialogs), [])
    await page.screenshot({ path: join(shots, '22-xss-household.png') })
    assert.deepEqual(await injected(page, dialogs), [])

    // Visits: list and detail (findings, needs, the worker's name).
    await page.click('[data-testid=nav-visits]')
    const vrow = page.locator(`tr[data-visit="${visitId}"]`)
    await vrow.waitFor()
    await vrow.click()
    await page.waitForSelector('[data-testid=visit-detail]')
    assert.ok((await page.textContent('[data-testid=visit-detail]')).includes(PAYLOAD), 'findings shown as text')
    assert.deepEqual(await injected(page, dialogs), [])

    // Issues: inbox and detail (title, description).
    await page.click('[data-testid=nav-issues]')
    const irow = page.locator(`tr[data-issue="${issueId}"]`)
    await irow.waitFor()
    assert.ok((await irow.textContent()).includes(PAYLOAD), 'title shown as text')
    await irow.click()
    await page.waitForSelector('[data-testid=issue-detail]')
    assert.ok((await page.textContent('[data-testid=issue-detail]')).includes(PAYLOAD), 'description shown as text')
    assert.deepEqual(await injected(page, dialogs), [])
    await page.screenshot({ path: join(shots, '20-xss-issue.png') })

    // Devices and sync logs (the device's name), and the admin's user and device lists.
    await page.click('[data-testid=nav-devices]')
    await page.waitForSelector('[data-testid=device-list] tbody tr')
    assert.ok((await page.textContent('[data-testid=device-list]')).includes(PAYLOAD), 'device name shown as text')
    assert.deepEqual(await injected(page, dialogs), [])
    await page.click('[data-testid=nav-users]')
    await page.waitForSelector('[data-testid=admin-devices] tbody tr')
    assert.deepEqual(await injected(page, dialogs), [])

    // Indicators: grid and worker names are chart categories; hover every bar for its tooltip.
    await page.click('[data-testid=nav-indicators]')
    await page.waitForSelector('[data-testid=kpi-closure]')
    await page.waitForTimeout(800)
    let tooltips = 0
    for (const chart of await page.locator('.chart').all()) {
      const box = await chart.boundingBox()
      for (let x = 45; x < box.width - 10; x += 12) {
        await page.mouse.move(box.x + x, box.y + box.height * 0.6)
        await page.waitForTimeout(15)
        tooltips += await page.evaluate((img) => [...document.querySelectorAll('div')].filter((d) => d.style.position === 'absolute' && d.textContent.includes(img)).length > 0 ? 1 : 0, IMG)
      }
    }
    assert.ok(tooltips > 0, 'a tooltip showed the payload as text')
    assert.deepEqual(await injected(page, dialogs), [])
    await page.screenshot({ path: join(shots, '21-xss-indicators.png') })
  } finally {
    await browser?.close()
    srv.child.kill()
    rmSync(tmp, { recursive: true, force: true })
  }
})
