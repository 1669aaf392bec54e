// App benchmark (prints figures, asserts nothing):
//  - cold start: process start → household list of 5,000 households rendered and
//    interactive, as the app itself measures it (perf_mark), and as the driver sees it
//    (session request → first row present; includes WebKitWebDriver's own start);
//  - search: keystroke (input event) → results rendered (next frame), per keystroke.
// Run with: tests/e2e-app/run.sh bench [RUNS]
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { ROOT, TARGET, Session, sleep, startDriver, stopAll } from './lib.mjs'

const runs = Number(process.argv[2] ?? 5)
const households = Number(process.env.BENCH_HOUSEHOLDS ?? 5000)
const fixture = join(TARGET, `bench-fixture-${households}`)

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]
const fmt = (x) => `${x.toFixed(1)} ms`

if (!existsSync(join(fixture, 'device.sqlite'))) {
  mkdirSync(fixture, { recursive: true })
  console.log(`making the fixture: ${households} households in ${fixture}`)
  console.log(execFileSync('cargo', ['run', '-q', '-p', 'gridwalk-app', '--example', 'bench_fixture', '--', fixture, String(households)], { cwd: ROOT, encoding: 'utf8' }).trim())
}

const driver = await startDriver({ GRIDWALK_SYNC_INTERVAL_SECS: '3600' })
const appMs = []
const driverMs = []
const keyMs = []
const perQuery = {}
const queries = ['zs', 'l', '3栋', '501', 'wang', 'zsf', '13', '2单元']
try {
  for (let i = 0; i < runs; i++) {
    const s = await Session.create(driver.url, ['--data-dir', fixture, '--start-route', '/households'])
    try {
      await s.waitFor('[data-test="household-row"]', { timeout: 30000 })
      driverMs.push(performance.now() - s.t0)
      await s.until('perf mark', async () => typeof (await s.exec('return window.__gwPerf && window.__gwPerf.firstList')) === 'number')
      appMs.push(await s.exec('return window.__gwPerf.firstList'))
      const total = await s.exec(`return document.querySelector('[data-test="result-count"]').textContent`)
      if (i === 0) {
        console.log(`list: ${total.trim()}`)
        await s.screenshot('bench-households')
      }
      // Search: type each query a key at a time, as a worker does.
      const input = await s.input('search')
      for (const q of queries) {
        await s.cmd('POST', `/element/${input}/clear`, {})
        await sleep(150)
        await s.exec('window.__gwPerf.search = []')
        for (const ch of q) {
          await s.cmd('POST', `/element/${input}/value`, { text: ch })
          await sleep(120)
        }
        await sleep(300)
        const got = await s.exec('return window.__gwPerf.search')
        keyMs.push(...got)
        ;(perQuery[q] ??= []).push(...got)
      }
    } finally {
      await s.close()
    }
  }
} finally {
  await stopAll()
}

console.log(`\nGridwalk app benchmark: ${households} households, ${runs} cold starts, ${keyMs.length} keystrokes`)
console.log(`cold start → list interactive (app, from process start): median ${fmt(median(appMs))}  [${appMs.map((x) => x.toFixed(0)).join(', ')}]`)
console.log(`cold start → first row (driver, incl. WebKitWebDriver start): median ${fmt(median(driverMs))}`)
console.log(`keystroke → results rendered: median ${fmt(median(keyMs))}, p95 ${fmt(p95(keyMs))}, max ${fmt(Math.max(...keyMs))}`)
console.log(`per query (median of its keystrokes): ${Object.entries(perQuery).map(([q, xs]) => `${q} ${median(xs).toFixed(0)}`).join(', ')}`)
console.log('targets: cold start ≤ 1500 ms, keystroke ≤ 50 ms')
