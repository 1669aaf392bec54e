// End to end through the real app: the Tauri debug binary in a WebKitGTK window (under
// the Xvfb display that run.sh starts), driven by tauri-driver + WebKitWebDriver, against
// a real gridwalk-server on loopback. Screenshots of every step go to
// test-artifacts/e2e-app/.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { APP_BIN, ROOT, SERVER_BIN, Session, freePort, run, sleep, start, startDriver, stop, stopAll, waitPort } from './lib.mjs'
import { execFileSync } from 'node:child_process'

const work = mkdtempSync(join(tmpdir(), 'gridwalk-e2e-'))
const serverDir = join(work, 'server')
const dirA = join(work, 'device-a')
const dirB = join(work, 'device-b')
const token = Math.random().toString(36).slice(2, 8)
// Device text carries markup: it must show as text, never run (issue 9, stored script).
const XSS = '<img src=x onerror="window.__xss=1">'
const FINDINGS = `E2E走访${token}：老人身体良好，门口楼道灯坏了${XSS}`
const ISSUE_TITLE = `楼道灯坏了${token}`
const NOTES = `离线修改${token}：租户已搬走${XSS}`
// A 2000×1500 JPEG "photo" of a stairwell (issue 13), sent to the file input as a path.
const PHOTO = join(ROOT, 'tests/e2e-app/fixtures/stairwell.jpg')

let server
let driver
let port
let username
// The demo's supervisor (console sign-in) and its password.
const supervisor = {}
const codes = []
const found = {}

const log = (...a) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a)

after(async () => {
  if (driver && process.exitCode) log('tauri-driver output:\n' + driver.process.output().slice(-4000))
  await stopAll()
  if (!process.env.KEEP_E2E_DIR) rmSync(work, { recursive: true, force: true })
})

async function assertNoScript(s, where) {
  const ran = await s.exec('return window.__xss === 1 || document.querySelector(\'img[src="x"]\') !== null')
  assert.equal(ran, false, `markup from a device ran or rendered as HTML on the ${where}`)
}

async function startServer() {
  server = start(SERVER_BIN, ['serve', '--data', serverDir, '--addr', `127.0.0.1:${port}`])
  await waitPort(port)
}

async function openApp(dir, extraArgs = []) {
  if (driver.process.exitCode !== null) throw new Error('tauri-driver exited:\n' + driver.process.output())
  log('open app', dir)
  const s = await Session.create(driver.url, ['--data-dir', dir, ...extraArgs])
  log('session', s.id, `${s.createdMs.toFixed(0)} ms`)
  return s
}

// The supervisor's console shows the photo the worker took in the app, on the issue
// (issue 13, end to end): headless Chromium beside the app's window.
async function consoleShowsPhoto(sha) {
  const { launchBrowser, signIn } = await import('../e2e-console/lib.mjs')
  const browser = await launchBrowser()
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
    await signIn(page, `http://127.0.0.1:${port}`, supervisor.username, supervisor.password)
    await page.click('[data-testid=issues-all]')
    await page.locator('[data-testid=issue-list] tr', { hasText: ISSUE_TITLE }).first().click()
    await page.waitForFunction((sha) => {
      const img = document.querySelector(`[data-testid=issue-detail] img[data-testid=photo-thumb][src*="${sha}"]`)
      return img !== null && img.complete && img.naturalWidth > 0
    }, sha)
    await page.screenshot({ path: join(ROOT, 'test-artifacts', 'e2e-app', '10b-console-shows-the-photo.png') })
    log('the console shows the photo')
  } finally {
    await browser.close()
  }
}

async function syncAndWait(s, name) {
  await s.clickCss('[data-test="tab-sync"]')
  await s.waitFor('[data-test="sync"]')
  await s.clickCss('[data-test="sync-now"]')
  await s.until('pending changes reach 0 and the server answered', async () => {
    const v = await s.text(await s.waitFor('[data-test="pending-value"]'))
    const online = (await s.find('[data-test="online-tag"]')).length > 0
    return v.trim() === '0' && online
  }, 60000)
  await s.screenshot(name)
}

/** After enrolling: the grid downloads, then Today shows. On a timeout the screen is
 *  kept and its text printed, so that a failure says where the app stood. */
async function waitForDownload(s, shot) {
  const t0 = Date.now()
  try {
    await s.waitFor('[data-test="downloading"], [data-test="today"]', { timeout: 60_000 })
    console.log(`[e2e] enrolled after ${Date.now() - t0} ms`)
    await s.waitFor('[data-test="today"]', { timeout: 120_000 })
    console.log(`[e2e] grid downloaded, Today shown after ${Date.now() - t0} ms`)
  } catch (e) {
    await s.screenshot(shot).catch(() => {})
    const text = await s.exec('return document.body.innerText').catch((x) => String(x))
    throw new Error(`${e.message}; the screen said: ${text}`)
  }
}

async function searchAndOpen(s, query, headName) {
  await s.clickCss('[data-test="tab-households"]')
  await s.waitFor('[data-test="household-row"]')
  await s.type('search', query)
  const row = await s.waitFor('[data-test="household-row"]', { text: headName })
  return row
}

test('grid worker app, end to end', { timeout: 15 * 60_000 }, async (t) => {
  await t.test('server with the demo district and two enrollment codes', async () => {
    const demo = run(SERVER_BIN, ['demo', '--data', serverDir, '--households', '400'])
    const line = demo.split('\n').find((l) => /^\S+\s+worker\s+/.test(l))
    assert.ok(line, `no worker in the demo summary:\n${demo}`)
    username = line.split(/\s+/)[0]
    // The worker's supervisor (the first listed, of the worker's community) signs in to
    // the console to see the worker's photo.
    supervisor.username = demo.split('\n').find((l) => /^\S+\s+supervisor\s+/.test(l))?.split(/\s+/)[0]
    assert.ok(supervisor.username, `no supervisor in the demo summary:\n${demo}`)
    supervisor.password = `e2e-${token}-pass`
    run(SERVER_BIN, ['password', 'set', '--data', serverDir, '--username', supervisor.username, '--password', supervisor.password])
    for (let i = 0; i < 2; i++) {
      codes.push(run(SERVER_BIN, ['enroll-code', '--data', serverDir, '--username', username]).trim())
    }
    port = await freePort()
    await startServer()
    // No OS secret store, as on CI (and a developer's own keyring is left alone): the
    // device key goes to a key file, and the app must say so (issue 14).
    driver = await startDriver({
      GRIDWALK_SYNC_INTERVAL_SECS: '3600',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/gridwalk-e2e-no-secret-service',
    })
  })

  await t.test('device A enrolls and downloads its grid', async () => {
    const s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="first-run"]')
      await s.screenshot('01-first-run')
      await s.type('server-url', `http://127.0.0.1:${port}`)
      await s.type('enroll-code', codes[0])
      console.log(`[e2e] form filled`)
      await s.screenshot('02-first-run-filled')
      await s.clickCss('[data-test="enroll-submit"]')
      await waitForDownload(s, '03-download-timeout')
      await s.waitFor('[data-test="due-list"]')
      await sleep(500)
      await s.screenshot('03-today')
    } finally {
      await s.close()
    }
  })

  await t.test('device A finds a household by pinyin initials, records a visit and reports an issue', async () => {
    const s = await openApp(dirA)
    try {
      await s.clickCss('[data-test="tab-households"]')
      const first = await s.waitFor('[data-test="household-row"]')
      await s.screenshot('04-households')
      // The head's name and its initials as the list shows them.
      const [name, initials] = await s.exec(`
        const row = document.querySelector('[data-test="household-row"]');
        const title = row.querySelector('.van-cell__title span').textContent.trim();
        return [title.split(' ').pop(), row.querySelector('.initials').textContent.trim()];`)
      assert.ok(initials.length >= 2, `initials of ${name}: ${initials}`)
      found.name = name
      found.initials = initials
      await s.type('search', initials)
      await s.until(`every result matches ${initials}`, async () => {
        const n = await s.exec(`return [...document.querySelectorAll('[data-test="household-row"] .initials')].map(e => e.textContent)`)
        return n.length > 0 && n.some((x) => x === initials)
      })
      await s.screenshot('05-search-pinyin')
      const row = await s.waitFor('[data-test="household-row"]', { text: name })
      await s.click(row)
      await s.waitFor('[data-test="household"]')
      found.householdId = (await s.exec('return location.hash')).split('/').pop()
      await sleep(300)
      await s.screenshot('06-household')
      await s.clickCss('[data-test="new-visit"]')
      await s.waitFor('[data-test="new-visit"] [data-test="photos-note"]')
      await s.type('findings', FINDINGS)
      await s.type('needs', '希望尽快修好楼道灯')
      await s.screenshot('07-new-visit')
      await s.clickCss('[data-test="save-visit-report"]')
      await s.waitFor('[data-test="new-issue"]')
      await s.type('issue-title', ISSUE_TITLE)
      await s.type('issue-description', '3 楼楼道灯不亮，老人夜里出门不安全')
      // A photo (随手拍): prepared in Rust at once, its thumbnail shown, 待上传 until sent.
      await s.type('photo-input', PHOTO, { clear: false })
      await s.waitFor('[data-test="new-issue"] [data-test="photo-img"]', { timeout: 30000 })
      await s.waitFor('[data-test="new-issue"] [data-test="photo-state"]', { text: '待上传' })
      await s.screenshot('08-new-issue')
      // The photos make the form longer than the window: bring the button above the tab bar.
      await s.exec(`document.querySelector('[data-test="submit-issue"]').scrollIntoView({ block: 'center' })`)
      await sleep(300)
      await s.clickCss('[data-test="submit-issue"]')
      await s.waitFor('[data-test="issue-title"]', { text: ISSUE_TITLE })
      await s.waitFor('[data-test="timeline"] [data-test="photo-img"]')
      found.photo = await s.exec(`return document.querySelector('[data-test="timeline"] [data-test="photo"]').dataset.sha`)
      assert.match(found.photo, /^[0-9a-f]{64}$/)
      await s.screenshot('09-issue')
      await syncAndWait(s, '10-device-a-synced')
      // Photos upload after the documents, in the background: the queue empties, and the
      // server holds the blob under its hash.
      await s.until('the photo is uploaded', async () => {
        const v = await s.text(await s.waitFor('[data-test="photos-pending-value"]'))
        return v.trim() === '0'
      }, 60000)
      const stored = execFileSync('sqlite3', [join(serverDir, 'blobs.sqlite'), `SELECT size FROM blobs WHERE sha256 = '${found.photo}'`]).toString().trim()
      assert.ok(Number(stored) > 10_000, `the server's blob store holds the photo (size: ${JSON.stringify(stored)})`)
      log('photo on the server', found.photo.slice(0, 12), stored, 'bytes')
      await consoleShowsPhoto(found.photo)
      await s.exec(`document.querySelector('[data-test="photo-storage"]').scrollIntoView()`)
      await sleep(300)
      await s.screenshot('10a-device-a-photo-uploaded')
      await s.exec('history.back()')
      await s.waitFor('[data-test="timeline"] [data-test="photo-state"]', { text: '已上传' })
      await s.screenshot('10c-issue-photo-uploaded')
      await s.clickCss('[data-test="timeline"] [data-test="photo-img"]')
      await s.waitFor('.van-image-preview img')
      await sleep(500)
      await s.screenshot('10d-photo-full-size')
      await s.exec(`document.querySelector('.van-image-preview__close-icon')?.click()`)
      await s.until('the preview closed', async () => (await s.find('.van-image-preview img')).length === 0 || (await s.exec(`return getComputedStyle(document.querySelector('.van-image-preview')).display === 'none'`)))
      await sleep(400)
      await s.clickCss('[data-test="tab-sync"]')
      // No OS secret store under Xvfb: the key is in a key file, and the app says so.
      const notice = await s.waitFor('[data-test="key-file-notice"]')
      assert.match(await s.text(notice), /系统密钥库/)
      await s.exec(`document.querySelector('[data-test="key-storage"]').scrollIntoView()`)
      await sleep(300)
      await s.screenshot('10b-device-a-key-file-notice')
    } finally {
      await s.close()
    }
    // The data directory at rest (issue 14): an encrypted store and a 0600 key file; no
    // byte of any file holds the visit's findings, the issue's title or the head's name.
    assert.equal(statSync(join(dirA, 'device.key')).mode & 0o777, 0o600)
    assert.notEqual(readFileSync(join(dirA, 'device.sqlite')).subarray(0, 15).toString(), 'SQLite format 3')
    for (const f of readdirSync(dirA)) {
      const bytes = readFileSync(join(dirA, f))
      for (const secret of [`E2E走访${token}`, ISSUE_TITLE, found.name]) {
        assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${secret} in the raw bytes of ${f}`)
      }
    }
  })

  await t.test('device A: an app PIN locks the app (now, at start, after a minute in the background); a wrong PIN is refused, the right one opens', async () => {
    const PIN = '246813'
    // The PIN settings sit low on the Sync screen: clicked in the middle of the window,
    // never under the fixed tab bar.
    const clickPin = async (s, name) => {
      await s.waitFor(`[data-test="${name}"]`)
      await s.exec(`document.querySelector('[data-test="${name}"]').scrollIntoView({ block: 'center' })`)
      await s.clickCss(`[data-test="${name}"]`)
    }
    let s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="today"]')
      await s.clickCss('[data-test="tab-sync"]')
      // The screen's layout settles once the device's status has arrived.
      await s.waitFor('[data-test="key-storage"]')
      await sleep(300)
      await clickPin(s, 'pin-set')
      await s.type('pin-new', PIN)
      await s.type('pin-repeat', PIN)
      await clickPin(s, 'pin-save')
      await s.waitFor('[data-test="pin-state"]', { text: '已开启' })
      await s.exec(`document.querySelector('[data-test="pin-settings"]').scrollIntoView()`)
      await s.screenshot('10c-device-a-pin-set')
      await clickPin(s, 'lock-now')
      await s.waitFor('[data-test="lock-screen"]')
      // Nothing of the data behind the lock: no tabs, no rows, and a route typed in leads back.
      await s.go('#/households')
      await sleep(500)
      await s.waitFor('[data-test="lock-screen"]')
      assert.equal((await s.find('[data-test="household-row"]')).length, 0, 'households behind the lock')
      assert.equal((await s.find('[data-test="tab-households"]')).length, 0, 'tabs behind the lock')
      const shown = await s.exec('return document.body.innerText')
      assert.ok(!shown.includes(found.name), 'a name behind the lock')
      // The commands refuse data too, not only the screen.
      const refused = await s.exec(`return window.__TAURI_INTERNALS__.invoke('search_households', { query: { text: null, tags: [], building_no: null, unit: null, offset: 0, limit: 5 } }).then(() => 'answered', (e) => e.code)`)
      assert.equal(refused, 'locked')
      await s.screenshot('10d-device-a-locked')
      await s.type('unlock-pin', '135790')
      await s.clickCss('[data-test="unlock-submit"]')
      await s.waitFor('[data-test="unlock-error"]', { text: '还可以再试 4 次' })
      await s.screenshot('10e-device-a-wrong-pin')
      await s.type('unlock-pin', PIN)
      await s.clickCss('[data-test="unlock-submit"]')
      await s.waitFor('[data-test="sync"]')
      await s.waitFor('[data-test="tab-households"]')
    } finally {
      await s.close()
    }
    // A new start with a PIN set starts locked; the PIN opens it; then the PIN is removed.
    s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="lock-screen"]')
      await s.screenshot('10f-device-a-locked-at-start')
      await s.type('unlock-pin', PIN)
      await s.clickCss('[data-test="unlock-submit"]')
      await s.waitFor('[data-test="today"]')
      await s.clickCss('[data-test="tab-sync"]')
      // The app in the background (its window unmapped, as when the worker switches to
      // another app): back within the chosen minute it stays open, after a minute away
      // it comes back locked.
      await s.waitFor('[data-test="lock-minutes"]')
      await s.exec(`const el = document.querySelector('[data-test="lock-minutes"]'); el.value = '1'; el.dispatchEvent(new Event('change'))`)
      await s.until('one minute chosen', async () => (await s.exec(`return window.__TAURI_INTERNALS__.invoke('lock_status')`)).lock_minutes === 1)
      await s.exec(`window.__seen = []; document.addEventListener('visibilitychange', () => window.__seen.push(document.visibilityState))`)
      const win = execFileSync('xdotool', ['search', '--onlyvisible', '--name', 'Gridwalk']).toString().trim().split('\n')[0]
      const away = async (ms) => {
        execFileSync('xdotool', ['windowunmap', '--sync', win])
        await sleep(ms)
        execFileSync('xdotool', ['windowmap', '--sync', win])
      }
      await away(2000)
      await s.until('hidden, then visible again', async () => (await s.exec('return window.__seen.join()')) === 'hidden,visible')
      await sleep(1000)
      assert.equal((await s.find('[data-test="lock-screen"]')).length, 0, 'two seconds away: still open')
      await away(61000)
      await s.waitFor('[data-test="lock-screen"]')
      assert.equal(await s.exec('return window.__seen.join()'), 'hidden,visible,hidden,visible')
      await s.screenshot('10g-device-a-locked-after-a-minute-away')
      await s.type('unlock-pin', PIN)
      await s.clickCss('[data-test="unlock-submit"]')
      await s.waitFor('[data-test="pin-settings"]')
      await clickPin(s, 'pin-remove')
      await s.type('pin-current', PIN)
      await clickPin(s, 'pin-save')
      await s.waitFor('[data-test="pin-state"]', { text: '未开启' })
    } finally {
      await s.close()
    }
  })

  await t.test('device B, same grid, sees the visit and the issue after its own sync', async () => {
    const s = await openApp(dirB)
    try {
      await s.waitFor('[data-test="first-run"]')
      await s.type('server-url', `http://127.0.0.1:${port}`)
      await s.type('enroll-code', codes[1])
      await s.clickCss('[data-test="enroll-submit"]')
      await waitForDownload(s, '10-download-timeout')
      const row = await searchAndOpen(s, found.initials, found.name)
      await s.click(row)
      await s.waitFor('[data-test="visit-row"]', { text: FINDINGS })
      await s.exec(`document.querySelector('[data-test="visits"]').scrollIntoView()`)
      await s.screenshot('11-device-b-household')
      await assertNoScript(s, 'household page with device-written findings')
      await s.clickCss('[data-test="tab-issues"]')
      const issueRow = await s.waitFor('[data-test="issue-row"]', { text: ISSUE_TITLE })
      await s.screenshot('12-device-b-issues')
      // Another device's photo: its thumbnail downloads on demand when the issue opens.
      await s.click(issueRow)
      await s.waitFor(`[data-test="timeline"] [data-test="photo"][data-sha="${found.photo}"] [data-test="photo-img"]`, { timeout: 30000 })
      await sleep(300)
      await s.screenshot('12b-device-b-issue-photo')
    } finally {
      await s.close()
    }
  })

  await t.test('offline: device A edits with the server down, the edit survives a restart', async () => {
    await stop(server)
    let s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="today"]')
      await s.go(`#/household/${found.householdId}`)
      await s.waitFor('[data-test="household"] [data-test="notes"]')
      await s.type('notes', NOTES)
      await s.clickCss('[data-test="save-notes"]')
      await s.until('notes saved', async () => (await s.find('[data-test="save-notes"]')).length === 0)
      await s.clickCss('[data-test="tab-sync"]')
      await s.clickCss('[data-test="sync-now"]')
      await s.waitFor('[data-test="offline-tag"]', { timeout: 30000 })
      await s.waitFor('[data-test="sync-error"]')
      const pending = await s.text(await s.waitFor('[data-test="pending-value"]'))
      assert.ok(Number(pending) > 0, `pending changes while offline: ${pending}`)
      await s.screenshot('13-offline-pending')
    } finally {
      await s.close()
    }
    s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="today"]')
      await s.go(`#/household/${found.householdId}`)
      await s.waitFor('[data-test="household"] [data-test="notes"]')
      await sleep(500)
      await s.screenshot('14-after-restart')
      await s.until('the offline edit is still there', async () => (await s.value('notes')) === NOTES || JSON.stringify(await s.value('notes')))
      await startServer()
      await syncAndWait(s, '15-synced-after-offline')
    } finally {
      await s.close()
    }
  })

  await t.test('device B gets the offline edit', async () => {
    const s = await openApp(dirB)
    try {
      await s.waitFor('[data-test="today"]')
      await syncAndWait(s, '16-device-b-synced')
      await s.go(`#/household/${found.householdId}`)
      await s.until('device B shows the edit', async () => (await s.value('notes')) === NOTES)
      await s.screenshot('17-device-b-sees-edit')
      await assertNoScript(s, 'household page with device-written notes')
    } finally {
      await s.close()
    }
  })

  await t.test('the district revokes device B (a lost phone): refused, wiped, back to first run', async () => {
    // Device B enrolled second: the last line of the device list.
    const devices = run(SERVER_BIN, ['device', 'list', '--data', serverDir]).trim().split('\n').slice(1)
    const deviceB = devices[devices.length - 1].split(/\s+/)[0]
    run(SERVER_BIN, ['device', 'revoke', '--data', serverDir, deviceB])
    const keyBefore = readFileSync(join(dirB, 'device.key'), 'utf8')
    const s = await openApp(dirB)
    try {
      // Its sync at start is refused; the app wipes its data and shows first run, saying why.
      await s.waitFor('[data-test="first-run"]', { timeout: 60000 })
      await s.waitFor('.van-notice-bar', { text: '本设备已被停用' })
      await s.screenshot('18-device-b-revoked')
    } finally {
      await s.close()
    }
    // Crypto-erase: the old key was destroyed (a new one made for the next enrollment).
    assert.notEqual(readFileSync(join(dirB, 'device.key'), 'utf8'), keyBefore, 'the revoked key is gone')
    const again = await openApp(dirB)
    try {
      await again.waitFor('[data-test="first-run"]')
      assert.equal((await again.find('[data-test="tab-households"]')).length, 0, 'no household list on a wiped device')
    } finally {
      await again.close()
    }
  })

  await t.test('device A where a keyring has come up: its key moves from the key file into the Secret Service', async (tt) => {
    // run.sh runs this file inside scripts/with-secret-service.sh: a D-Bus session of its
    // own with an unlocked GNOME Keyring. Outside one, this step would write into the
    // developer's own keyring, so it does not run.
    if (!process.env.GRIDWALK_SECRET_SERVICE_SESSION) {
      tt.skip('not inside scripts/with-secret-service.sh')
      return
    }
    assert.ok(existsSync(join(dirA, 'device.key')), 'device A kept its key in a key file so far')
    await stop(driver.process)
    // This time the app is given the session's bus, and so the Secret Service.
    driver = await startDriver({ GRIDWALK_SYNC_INTERVAL_SECS: '3600' })
    const s = await openApp(dirA)
    try {
      await s.waitFor('[data-test="due-list"]')
      await s.clickCss('[data-test="tab-sync"]')
      const cell = await s.waitFor('[data-test="key-storage"]', { text: '密钥保存在系统密钥库中' })
      assert.equal((await s.find('[data-test="key-file-notice"]')).length, 0, 'no key-file notice')
      assert.match(await s.text(cell), /本机数据已加密/)
      await s.exec(`document.querySelector('[data-test="key-storage"]').scrollIntoView()`)
      await sleep(300)
      await s.screenshot('19-device-a-key-in-secret-service')
      // Its data opened with the key from the keyring: the household found earlier is there.
      await s.clickCss('[data-test="tab-households"]')
      await s.type('search', found.initials)
      await s.waitFor('[data-test="household-row"]', { text: found.name })
    } finally {
      await s.close()
    }
    assert.equal(existsSync(join(dirA, 'device.key')), false, 'the key file is destroyed once the key moved')
    assert.notEqual(readFileSync(join(dirA, 'device.sqlite')).subarray(0, 15).toString(), 'SQLite format 3')
  })
})

export { APP_BIN }
