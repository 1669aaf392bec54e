// Helpers for driving the real app: a WebDriver client over plain HTTP (tauri-driver in
// front of WebKitWebDriver), the sync server, ports and processes.
import { spawn, execFileSync } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = new URL('../../', import.meta.url).pathname
export const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target')
export const APP_BIN = join(TARGET, 'debug', 'gridwalk-app')
export const SERVER_BIN = join(TARGET, 'debug', 'gridwalk-server')
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e-app')

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A free TCP port on loopback (bound to :0 and read back). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

export function waitPort(port, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = connect(port, '127.0.0.1')
      c.once('connect', () => {
        c.destroy()
        resolve()
      })
      c.once('error', () => {
        c.destroy()
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`))
        else setTimeout(attempt, 100)
      })
    }
    attempt()
  })
}

const children = new Set()
export function start(cmd, args, opts = {}) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  p.stderr.on('data', (d) => (out += d))
  p.output = () => out
  children.add(p)
  p.on('exit', () => children.delete(p))
  return p
}

export async function stop(p) {
  if (!p || p.exitCode !== null) return
  p.kill('SIGTERM')
  for (let i = 0; i < 50 && p.exitCode === null; i++) await sleep(100)
  if (p.exitCode === null) p.kill('SIGKILL')
}

export async function stopAll() {
  for (const p of [...children]) await stop(p)
}

export function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** tauri-driver on a free port, its WebKitWebDriver on another. */
export async function startDriver(env = {}) {
  const port = await freePort()
  const native = await freePort()
  const bin = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? '/root', '.cargo', 'bin', 'tauri-driver')
  const p = start(bin, ['--port', String(port), '--native-port', String(native)], { env: { ...process.env, ...env } })
  await waitPort(port)
  return { process: p, url: `http://127.0.0.1:${port}` }
}

export class Session {
  constructor(base, id) {
    this.base = base
    this.id = id
  }

  static async create(driverUrl, args) {
    const t0 = performance.now()
    const r = await wd(driverUrl, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: APP_BIN, args } } },
    })
    const s = new Session(driverUrl, r.sessionId)
    s.createdMs = performance.now() - t0
    s.t0 = t0
    return s
  }

  cmd(method, path, body) {
    return wd(this.base, method, `/session/${this.id}${path}`, body)
  }

  async close() {
    try {
      await wd(this.base, 'DELETE', `/session/${this.id}`)
    } catch {
      /* the app may be gone already */
    }
  }

  exec(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args })
  }

  async find(css) {
    const r = await this.cmd('POST', '/elements', { using: 'css selector', value: css })
    return r.map((e) => Object.values(e)[0])
  }

  async waitFor(css, { timeout = 20000, text } = {}) {
    const deadline = Date.now() + timeout
    let last = ''
    while (Date.now() < deadline) {
      const els = await this.find(css).catch(() => [])
      for (const el of els) {
        if (text === undefined) return el
        last = await this.text(el).catch(() => '')
        if (last.includes(text)) return el
      }
      await sleep(150)
    }
    throw new Error(`timed out waiting for ${css}${text ? ` with text ${JSON.stringify(text)} (last: ${JSON.stringify(last)})` : ''}`)
  }

  async until(what, fn, timeout = 30000) {
    const deadline = Date.now() + timeout
    let last
    while (Date.now() < deadline) {
      last = await fn().catch((e) => e)
      if (last === true) return
      await sleep(200)
    }
    throw new Error(`timed out: ${what} (last: ${last})`)
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`)
  }

  /**
   * Click an element. A click that lands on something drawn over it for a moment (a
   * toast, a page still settling after its data arrived) is tried again for a few
   * seconds, the element scrolled back to the middle; anything else fails at once.
   */
  async click(el) {
    const deadline = Date.now() + 5000
    for (;;) {
      try {
        return await this.cmd('POST', `/element/${el}/click`, {})
      } catch (e) {
        if (!/click intercepted|not interactable/.test(e.message) || Date.now() > deadline) throw e
        console.log(`[e2e] click intercepted, trying again: ${e.message.slice(0, 120)}`)
        await sleep(300)
        await this.exec(`arguments[0].scrollIntoView({ block: 'center' })`, { 'element-6066-11e4-a52e-4f735466cecf': el }).catch(() => {})
      }
    }
  }

  async clickCss(css, opts) {
    const el = await this.waitFor(css, opts)
    await this.click(el)
    return el
  }

  /** The input or textarea of a field marked data-test=name. */
  async input(name) {
    return this.waitFor(`[data-test="${name}"] input, [data-test="${name}"] textarea, input[data-test="${name}"], textarea[data-test="${name}"]`)
  }

  async type(name, value, { clear = true } = {}) {
    const el = await this.input(name)
    if (clear) {
      // WebDriver's clear does not fire the input event Vue's v-model listens to.
      await this.exec(
        `const e = arguments[0]; e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true }))`,
        { 'element-6066-11e4-a52e-4f735466cecf': el },
      )
    }
    await this.cmd('POST', `/element/${el}/value`, { text: value })
    return el
  }

  async value(name) {
    const el = await this.input(name)
    return this.cmd('GET', `/element/${el}/property/value`)
  }

  async go(hash) {
    await this.exec(`location.hash = arguments[0]`, hash)
  }

  /**
   * Save a PNG of the window. WebKitWebDriver sometimes never answers a screenshot taken
   * right after a page first renders; such a request is abandoned and tried again.
   */
  async screenshot(name) {
    const t0 = Date.now()
    let b64
    for (let attempt = 1; !b64; attempt++) {
      await sleep(300)
      try {
        b64 = await wd(this.base, 'GET', `/session/${this.id}/screenshot`, undefined, 8000)
      } catch (e) {
        console.log(`[e2e] screenshot ${name}: attempt ${attempt} failed (${e.message})`)
        if (attempt >= 4) throw e
      }
    }
    console.log(`[e2e] screenshot ${name} (${Date.now() - t0} ms)`)
    mkdirSync(ARTIFACTS, { recursive: true })
    const path = join(ARTIFACTS, `${name}.png`)
    writeFileSync(path, Buffer.from(b64, 'base64'))
    return path
  }
}

export async function wd(base, method, path, body, timeoutMs = 60000) {
  const r = await fetch(base + path, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const j = await r.json().catch(() => ({}))
  if (!r.ok || (j.value && j.value.error)) {
    throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j.value ?? j).slice(0, 400)}`)
  }
  return j.value
}
