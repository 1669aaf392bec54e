// Shared by the console's end-to-end tests: a real gridwalk-server with the demo district,
// gridwalk-cli as the device, headless Debian chromium.
import { spawn, execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(resolve('console/package.json'))
export const { chromium } = require('playwright-core')

export const root = resolve('.')
// CARGO_TARGET_DIR when the binaries were built elsewhere.
export const bin = (name) => join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target'), 'debug', name)
export const shots = join(root, 'test-artifacts', 'console')
mkdirSync(shots, { recursive: true })

export function startServer(data) {
  return new Promise((ok, fail) => {
    const child = spawn(bin('gridwalk-server'), ['serve', '--data', data, '--addr', '127.0.0.1:0', '--demo', '--demo-households', '60',
      '--console-dir', join(root, 'console', 'dist')], { env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' } })
    let out = ''
    let err = ''
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}\n${err}`)), 120_000)
    const check = () => {
      const addr = err.match(/listening[^\n]*?addr=(127\.0\.0\.1:\d+)/) ?? err.match(/(127\.0\.0\.1:\d+)[^\n]*listening/)
      const code = out.match(/enrollment code for \S+ \([^)]*\), valid 72 h: (\S+)/)
      if (addr && code) {
        clearTimeout(timer)
        ok({ child, url: `http://${addr[1]}`, code: code[1], out })
      }
    }
    child.stdout.on('data', (d) => { out += d; check() })
    child.stderr.on('data', (d) => { err += d; check() })
    child.on('exit', (c) => fail(new Error(`server exited ${c}:\n${out}\n${err}`)))
  })
}

export const cli = (dev, ...args) => execFileSync(bin('gridwalk-cli'), ['--data', dev, ...args], { encoding: 'utf8' }).trim()
export const lastJson = (s) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop())


export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'], // launch() always uses a fresh, temporary profile
  })
}

/** The demo's console users from the server's summary: [{username, role}], and the password. */
export function demoUsers(out) {
  const users = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => ['worker', 'supervisor', 'admin'].includes(c[1])).map((c) => ({ username: c[0], role: c[1] }))
  return { users, password: out.match(/password "([^"]+)"/)[1] }
}

export async function signIn(page, url, username, password) {
  await page.goto(`${url}/console/`)
  await page.waitForSelector('[data-testid=login]')
  await page.fill('input[name=username]', username)
  await page.fill('input[name=password]', password)
  await page.click('[data-testid=login-submit]')
  await page.waitForSelector('[data-testid=whoami]')
}
