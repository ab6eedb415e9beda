/**
 * `npx lifeline-ws inspect` end to end: the CLI (from source, through tsx)
 * serves its page and relay on 127.0.0.1; a child process with two
 * inspected connections shows up in the page, in the picker, and the page
 * follows each one's state as the test drives it (commands on the child's
 * stdin). A real Chromium, real sockets, nothing off the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'

const root = new URL('../..', import.meta.url)
const PANEL = '[data-lifeline-inspector]'

// Two connections, alpha and beta, to the app's own server; the test drives beta. Exits when its stdin closes, or after 60 s.
const APP = `
import { createInterface } from 'node:readline'
import { createHeartbeatServer } from './src/server/index.ts'
import { createConnection } from './src/index.node.ts'
import { inspector } from './src/inspector/node.ts'
const server = createHeartbeatServer({ port: 0, path: '/live' })
const { port } = await server.listening
const inspect = inspector({ port: Number(process.env.RELAY_PORT), name: 'two-connections' })
const url = (name) => 'ws://127.0.0.1:' + port + '/live?name=' + name
const alpha = createConnection({ url: url('alpha'), heartbeat: { interval: 250, timeout: 1000 }, inspect })
const beta = createConnection({ url: url('beta'), heartbeat: { interval: 4000, timeout: 4000 }, inspect })
const end = () => { alpha.dispose(); beta.dispose(); void server.close(); process.exit(0) }
setTimeout(end, 60_000).unref()
createInterface({ input: process.stdin }).on('line', (line) => { if (line === 'close beta') beta.close(); if (line === 'open beta') beta.open() }).on('close', end)
console.log('ready')
`

function started(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += String(chunk)
      const match = pattern.exec(out)
      if (match) resolve(match)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing ${pattern}: ${out}`)))
  })
}

describe.runIf(runBrowserTests)('npx lifeline-ws inspect in Chromium', () => {
  let cli: ChildProcess
  let app: ChildProcess
  let browser: Browser
  let page: Page
  let url: string

  const options = () => page.locator(`${PANEL} select option`).allTextContents()
  const showing = async (label: string, state: RegExp) => {
    await page.locator(`${PANEL} select`).selectOption({ label })
    await page.waitForFunction(([selector, source]) => new RegExp(source).test(document.querySelector(selector)?.getAttribute('data-state') ?? ''), [PANEL, state.source] as const, { timeout: 5_000 })
  }

  beforeAll(async () => {
    cli = spawn(process.execPath, ['--import', 'tsx', 'src/inspector/cli.ts', 'inspect', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    url = (await started(cli, /lifeline inspector: (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!
    app = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', APP], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, RELAY_PORT: new URL(url).port } })
    await started(app, /ready/)
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (error) => console.error('page error:', error))
    await page.goto(url)
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    app?.stdin?.end()
    app?.kill()
    cli?.kill()
  })

  it('lists both connections of the process in the picker', async () => {
    await page.waitForFunction((selector) => document.querySelector(selector)?.shadowRoot?.querySelectorAll('select option').length === 2, PANEL, { timeout: 10_000 })
    expect(await options()).toEqual([expect.stringMatching(/^two-connections · pid \d+ · connection 1$/), expect.stringMatching(/^two-connections · pid \d+ · connection 2$/)])
    expect(await page.locator(`${PANEL} select`).isVisible()).toBe(true)
  })

  it('follows each connection\'s state', async () => {
    const [alpha, beta] = await options()
    await showing(alpha!, /^open\.(waiting|ackPending)$/)
    // alpha's heartbeat runs every 250 ms: the page sees it go round (a ping, or a probe when a loaded machine made the timer late).
    // Its timeline says so; the state itself spends less than a millisecond in ackPending on loopback, too short to poll for.
    await page.waitForSelector(`${PANEL} #timeline li:has-text("proof of life")`, { state: 'attached', timeout: 10_000 })
    await showing(beta!, /^open\.waiting$/)
    app.stdin!.write('close beta\n')
    await showing(beta!, /^idle$/)
    await showing(alpha!, /^open\./)
    app.stdin!.write('open beta\n')
    await showing(beta!, /^open\.waiting$/)
    await page.waitForSelector(`${PANEL} #timeline li:has-text("close() called")`, { state: 'attached' })
  })

  it('looks right (screenshot saved as an artifact)', async () => {
    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/inspector-cli.png' })
    if (process.env.LIFELINE_REFRESH_DOCS === '1') copyFileSync('test-results/inspector-cli.png', 'docs/inspector-cli.png')
  })

  it('marks the connections disconnected when the process dies', async () => {
    const exited = new Promise((resolve) => app.once('exit', resolve))
    app.kill('SIGKILL')
    await exited
    await page.waitForSelector(`${PANEL} .pill:has-text("disconnected")`, { state: 'attached', timeout: 5_000 })
  })
})
