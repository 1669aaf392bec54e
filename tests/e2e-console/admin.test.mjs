// The admin's console end to end: import a ledger (dry run, then valid rows only), export
// it masked and in full with a reason, revoke a device (which is then refused and wiped),
// read the audit log; a supervisor cannot export full PII.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { bin, cli, demoUsers, launchBrowser, shots, signIn, startServer } from './lib.mjs'

/** An 18-digit ID with its GB 11643 check digit. */
function idNumber(body17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...body17].reduce((s, d, i) => s + Number(d) * w[i], 0)
  return body17 + '10X98765432'[sum % 11]
}

test('admin imports, exports, revokes a device and reads the audit log', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-admin-e2e-'))
  const srv = await startServer(join(tmp, 'server'))
  let browser
  try {
    const { users, password } = demoUsers(srv.out)
    const admin = users.find((u) => u.role === 'admin').username
    const sup = users.find((u) => u.role === 'supervisor').username

    const dev = join(tmp, 'device')
    cli(dev, 'enroll', '--server', srv.url, '--code', srv.code, '--name', 'lost phone')
    cli(dev, 'sync')

    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', acceptDownloads: true })
    page.on('dialog', (d) => d.accept())
    await signIn(page, srv.url, admin, password)

    // Import: a ledger written against the district's own area tree, with bad rows.
    const tree = await page.evaluate(async () => (await fetch('/console/api/admin/area')).json())
    const b = tree.buildings[0]
    const c = tree.communities.find((x) => x.code === b.community_code)
    const g = tree.grids.find((x) => x.id === b.grid_id)

    // Areas: a new building from a spreadsheet, then the ledger's households move in.
    const sheet = join(tmp, '楼栋清单.csv')
    writeFileSync(sheet, ['社区,网格,楼栋名称,单元数,层数,每层户数', `${c.name},${g.name},新建1栋,2,18,4`].join('\r\n'))
    await page.click('[data-testid=nav-areas]')
    await page.waitForSelector('[data-testid=area-tree]')
    await page.setInputFiles('[data-testid=buildings-file]', sheet)
    await page.waitForSelector('[data-testid=buildings-result]')
    await page.locator('[data-testid=area-tree] td', { hasText: '新建1栋' }).first().click()
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(shots, '09-areas-buildings-imported.png'), fullPage: true })
    const head = idNumber('43020319500302' + '101') // odd sequence: male
    const spouse = idNumber('43020319520611' + '202') // even: female
    const other = idNumber('43020319801224' + '303')
    const badCheck = head.slice(0, 17) + (head[17] === '0' ? '1' : '0')
    const csv = [
      '社区,楼栋,单元,房号,姓名,性别,出生日期,身份证号,联系电话,与户主关系,人员类型,户类型,房屋用途',
      `${c.name},新建1栋,1,901,测试户主,男,1950.3.2,${head},13800138000,户主,户籍人口,户籍,自住`,
      `${c.name},新建1栋,1,901,测试配偶,女,1952年6月11日,${spouse},,配偶,户籍人口,户籍,自住`,
      `${c.name},${b.name},1,902,校验错误,男,1950/3/2,${badCheck},,户主,户籍人口,户籍,自住`,
      `${c.name},${b.name},1,903,被截断,男,,4.30203E+17,,户主,户籍人口,户籍,自住`,
      `${c.name},99999栋,1,101,楼栋不存在,男,1980-12-24,${other},,户主,户籍人口,户籍,自住`,
    ].join('\r\n')
    const file = join(tmp, '台账.csv')
    writeFileSync(file, csv)
    await page.click('[data-testid=nav-import]')
    await page.setInputFiles('[data-testid=import-file]', file)
    await page.click('[data-testid=import-check]')
    await page.waitForSelector('[data-testid=import-problems] tbody tr')
    const codes = await page.$$eval('[data-testid=import-problems] tbody tr', (rows) => rows.map((r) => r.dataset.code))
    for (const code of ['id_check_digit', 'id_cut_by_excel', 'unknown_building']) assert.ok(codes.includes(code), `${code} in ${codes}`)
    await page.screenshot({ path: join(shots, '10-import-dry-run.png'), fullPage: true })
    await page.click('[data-testid=import-all]')
    await page.waitForSelector('[data-testid=import-result]')
    assert.match(await page.textContent('[data-testid=import-result]'), /未导入/)
    await page.click('[data-testid=import-valid]')
    await page.waitForFunction(() => /已导入 1 户/.test(document.querySelector('[data-testid=import-result]')?.textContent ?? ''))
    await page.screenshot({ path: join(shots, '11-import-valid-only.png'), fullPage: true })

    // Export, masked (the default): no full ID number or phone in the file.
    await page.click('[data-testid=nav-export]')
    await page.selectOption('select[name=format]', 'csv')
    const [masked] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-go]')])
    const maskedText = readFileSync(await masked.path(), 'utf8')
    assert.ok(maskedText.startsWith('\ufeff户编号'), maskedText.slice(0, 40))
    assert.ok(maskedText.includes('测试户主') && !maskedText.includes(head) && !maskedText.includes('13800138000'))
    assert.ok(maskedText.includes('**************' + head.slice(14)) && !maskedText.includes(head.slice(0, 6) + '********'))
    await page.waitForSelector('[data-testid=export-done]')

    // In full: refused without a reason, then given with one.
    await page.click('[data-testid=export-full]')
    await page.click('[data-testid=export-go]')
    await page.waitForSelector('[data-testid=export-error]')
    await page.fill('[data-testid=export-reason]', '民政局核对低保名单')
    const [full] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-go]')])
    const fullText = readFileSync(await full.path(), 'utf8')
    assert.ok(fullText.includes(head) && fullText.includes('13800138000'))
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(shots, '12-export.png'), fullPage: true })

    // Revoke the device: refused at once, and wiped at its next contact.
    await page.click('[data-testid=nav-users]')
    await page.waitForSelector('[data-testid=admin-devices] tbody tr')
    await page.screenshot({ path: join(shots, '13-users-devices.png'), fullPage: true })
    await page.click('[data-testid=admin-devices] [data-testid=revoke]')
    await page.waitForFunction(() => !document.querySelector('[data-testid=admin-devices] [data-testid=revoke]'))
    await page.screenshot({ path: join(shots, '14-device-revoked.png'), fullPage: true })
    assert.throws(() => execFileSync(bin('gridwalk-cli'), ['--data', dev, 'sync'], { encoding: 'utf8', stdio: 'pipe' }), /revoked/)
    const left = cli(dev, 'households', '--limit', '5')
    assert.equal(left, '', `households left on the wiped device: ${left}`)

    // Settings: a category's time limit and a holiday, saved and shown again.
    await page.click('[data-testid=nav-settings]')
    await page.waitForSelector('[data-testid=limit-safety_hazard]')
    await page.fill('[data-testid=limit-safety_hazard]', '12')
    await page.fill('[data-testid=holidays]', '2027-01-01\n2027-02-06')
    await page.click('[data-testid=settings-save]')
    await page.waitForSelector('[data-testid=settings-saved]')
    assert.equal(await page.inputValue('[data-testid=limit-safety_hazard]'), '12')
    await page.screenshot({ path: join(shots, '16-settings.png'), fullPage: true })

    // The audit log holds the import, both exports (masked and full, with the reason) and the revocation.
    await page.click('[data-testid=nav-audit]')
    await page.waitForSelector('[data-testid=audit-list] tbody tr')
    const kinds = await page.$$eval('[data-testid=audit-list] tbody tr', (rows) => rows.map((r) => r.dataset.kind))
    for (const k of ['import', 'export', 'device_revoked', 'login']) assert.ok(kinds.includes(k), `${k} in ${kinds}`)
    // Three exports: masked, the refused full one without a reason (audited too), the full one.
    assert.equal(kinds.filter((k) => k === 'export').length, 3)
    assert.match(await page.textContent('[data-testid=audit-list]'), /error/)
    assert.match(await page.textContent('[data-testid=audit-list]'), /民政局核对低保名单/)
    await page.screenshot({ path: join(shots, '15-audit-log.png'), fullPage: true })

    // A supervisor: no full-PII choice, and the API refuses it.
    const supPage = await (await browser.newContext({ locale: 'zh-CN' })).newPage({ viewport: { width: 1440, height: 900 } })
    await signIn(supPage, srv.url, sup, password)
    await supPage.click('[data-testid=nav-export]')
    assert.equal(await supPage.locator('[data-testid=export-full]').count(), 0)
    const status = await supPage.evaluate(async () => {
      const me = await (await fetch('/console/api/me')).json()
      const r = await fetch('/console/api/export', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: JSON.stringify({ format: 'csv', full_pii: true, reason: '我想看看完整号码' }) })
      return r.status
    })
    assert.equal(status, 403)
    assert.equal(await supPage.locator('[data-testid=nav-users]').count(), 0)
  } finally {
    await browser?.close()
    srv.child.kill('SIGTERM')
    rmSync(tmp, { recursive: true, force: true })
  }
})
