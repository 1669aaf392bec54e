// A new district's first day in the browser, from an empty data directory: after
// `gridwalk-server init`, the admin creates a street, a community and a grid, uploads the
// buildings sheet and a ledger (GBK CSV as Excel saves it: dry run, then valid rows only),
// creates a worker with an enrollment code, and a gridwalk-cli device enrolls and
// downloads the grid's imported households.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { bin, cli, launchBrowser, root, shots, signIn, startServer } from './lib.mjs'

const fixtures = join(root, 'tests', 'e2e-console', 'fixtures')
const PASSWORD = 'first-day-pw'

test('first day: init, areas, buildings, ledger, worker, device', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-first-day-'))
  const data = join(tmp, 'district')
  const init = execFileSync(bin('gridwalk-server'), ['init', '--data', data, '--district-code', '430202000000',
    '--district-name', '荷塘区', '--admin', 'chief', '--password', PASSWORD], { encoding: 'utf8' })
  assert.match(init, /荷塘区 \(430202000000\) created/)
  const srv = await startServer(data, { demo: false })
  let browser
  try {
    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
    await signIn(page, srv.url, 'chief', PASSWORD)
    await page.click('[data-testid=nav-areas]')
    await page.waitForSelector('[data-testid=area-tree]')
    assert.match(await page.textContent('[data-testid=district]'), /荷塘区/)

    // A street code outside the district: refused, the reason in both languages.
    await page.click('[data-testid=street-add]')
    await page.fill('input[name=code]', '430203001000')
    await page.fill('input[name=name]', '月塘街道')
    await page.click('[data-testid=area-save]')
    await page.waitForSelector('[data-testid=area-error]')
    const err = await page.textContent('[data-testid=area-error]')
    assert.match(err, /应以区县的前6位 430202 开头/)
    assert.match(err, /must start with the district's 6 digits 430202/)
    await page.screenshot({ path: join(shots, '20-first-day-bad-street-code.png'), fullPage: true })
    await page.fill('input[name=code]', '430202001000')
    await page.click('[data-testid=area-save]')
    await page.locator('[data-testid=area-tree] td', { hasText: '月塘街道' }).waitFor()

    await page.click('[data-testid=community-add]')
    await page.fill('input[name=code]', '430202001001')
    await page.fill('input[name=name]', '荷花社区')
    await page.click('[data-testid=area-save]')
    await page.locator('[data-testid=area-tree] td', { hasText: '荷花社区' }).waitFor()

    // A grid: no id, no number, no name typed; the server makes them.
    await page.click('[data-testid=grid-add]')
    await page.click('[data-testid=area-save]')
    await page.locator('[data-testid=area-tree] td', { hasText: '第1网格' }).waitFor()
    assert.match(await page.textContent('[data-testid=area-tree]'), /430202001001001/)

    // Buildings: a sheet with a blank size is refused on that column; then the good one.
    await page.setInputFiles('[data-testid=buildings-file]', join(fixtures, 'first-day-buildings-blank.csv'))
    await page.waitForSelector('[data-testid=buildings-problems] tr')
    const problems = await page.textContent('[data-testid=buildings-problems]')
    assert.match(problems, /E.*单元数为空/)
    assert.match(problems, /G.*每层户数为空/)
    await page.screenshot({ path: join(shots, '21-first-day-buildings-blank-size.png'), fullPage: true })
    await page.setInputFiles('[data-testid=buildings-file]', join(fixtures, 'first-day-buildings.csv'))
    await page.waitForSelector('[data-testid=buildings-result]')
    assert.match(await page.textContent('[data-testid=buildings-result]'), /已导入 2 栋楼/)
    await page.locator('[data-testid=area-tree] td', { hasText: '2栋' }).waitFor()
    await page.screenshot({ path: join(shots, '22-first-day-areas.png'), fullPage: true })

    // The ledger: dry run finds the bad ID, valid-only imports the two good households.
    await page.click('[data-testid=nav-import]')
    await page.setInputFiles('[data-testid=import-file]', join(fixtures, 'first-day-ledger.csv'))
    await page.click('[data-testid=import-check]')
    await page.waitForSelector('[data-testid=import-problems] tbody tr')
    const codes = await page.$$eval('[data-testid=import-problems] tbody tr', (rows) => rows.map((r) => r.dataset.code))
    assert.ok(codes.includes('id_check_digit'), `id_check_digit in ${codes}`)
    await page.screenshot({ path: join(shots, '23-first-day-ledger-dry-run.png'), fullPage: true })
    await page.click('[data-testid=import-valid]')
    await page.waitForFunction(() => /已导入 2 户/.test(document.querySelector('[data-testid=import-result]')?.textContent ?? ''))

    // A worker of the new grid and their enrollment code.
    await page.click('[data-testid=nav-users]')
    await page.click('[data-testid=user-new]')
    await page.fill('input[name=username]', 'wang')
    await page.fill('input[name=display_name]', '王芳')
    await page.selectOption('select[name=grids]', { label: '荷花社区第1网格' })
    await page.click('[data-testid=user-save]')
    await page.click('[data-testid=enroll-code]')
    await page.waitForSelector('[data-testid=code]')
    const code = (await page.textContent('[data-testid=code]')).trim()
    await page.screenshot({ path: join(shots, '24-first-day-worker-code.png'), fullPage: true })

    // The device enrolls and downloads the grid with its imported households.
    const dev = join(tmp, 'device')
    cli(dev, 'enroll', '--server', srv.url, '--code', code, '--name', '王芳的手机')
    cli(dev, 'sync')
    const households = cli(dev, 'households', '--limit', '10')
    for (const name of ['张建国', '王小明']) assert.match(households, new RegExp(name), households)
    assert.doesNotMatch(households, /赵错号/)
  } finally {
    await browser?.close()
    srv.child.kill()
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('an admin without a district creates the district root in the console', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gw-no-district-'))
  const data = join(tmp, 'district')
  execFileSync(bin('gridwalk-server'), ['user', 'add', '--data', data, '--username', 'boss', '--name', '管理员',
    '--role', 'admin', '--password', PASSWORD], { encoding: 'utf8' })
  const srv = await startServer(data, { demo: false })
  let browser
  try {
    browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN' })
    await signIn(page, srv.url, 'boss', PASSWORD)
    await page.click('[data-testid=nav-areas]')
    await page.waitForSelector('[data-testid=district-new]')
    // A street-level code is not a district's: refused, in both languages.
    await page.fill('input[name=district-code]', '430202001000')
    await page.fill('input[name=district-name]', '荷塘区')
    await page.click('[data-testid=district-save]')
    await page.waitForSelector('[data-testid=area-error]')
    assert.match(await page.textContent('[data-testid=area-error]'), /不是区县级区划代码.*county \(district\)/)
    await page.screenshot({ path: join(shots, '19-first-day-create-district.png'), fullPage: true })
    await page.fill('input[name=district-code]', '430202000000')
    await page.click('[data-testid=district-save]')
    await page.waitForSelector('[data-testid=area-tree]')
    assert.match(await page.textContent('[data-testid=district]'), /荷塘区.*430202000000/)
  } finally {
    await browser?.close()
    srv.child.kill()
    rmSync(tmp, { recursive: true, force: true })
  }
})
