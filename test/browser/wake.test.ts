/**
 * Sleep and wake in a real Chromium. Headless Chromium neither hides a
 * minimised window nor freezes a visible page, so the test emulates both the
 * way the page sees them: visibility by the `visibilitychange` event with
 * `document.visibilityState` overridden; a freeze by halting the page's
 * JavaScript with the DevTools debugger (timers and socket events queue up, as
 * in a frozen page) and firing the document's `resume` event afterwards.
 * Everything else is real: the demo page, lifeline's browser build on the
 * native WebSocket, the demo server.
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startDemo, type Demo } from '../../demo/server.js'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'

interface Moment {
  at: number
  state: string
  heartbeat: string
}

const INTERVAL = 10_000
const TIMEOUT = 10_000
const PROBE_TIMEOUT = 500

describe.runIf(runBrowserTests)('sleep and wake in Chromium', () => {
  let demo: Demo
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let cdp: CDPSession

  const history = () => page.evaluate(() => (window as unknown as { lifelineDemo: { history: Moment[] } }).lifelineDemo.history)
  const path = async (since: number) => (await history()).filter((m) => m.at >= since).map((m) => (m.state === 'open' ? `open.${m.heartbeat}` : m.state))
  const setVisibility = (visibility: 'hidden' | 'visible') =>
    page.evaluate((v) => {
      const at = performance.now() // before: the event is handled synchronously
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v })
      document.dispatchEvent(new Event('visibilitychange'))
      return at
    }, visibility)

  beforeAll(async () => {
    demo = await startDemo({ port: 0 })
    browser = await launchChromium()
    context = await browser.newContext()
  }, 30_000)

  beforeEach(async () => {
    await page?.close()
    page = await context.newPage()
    cdp = await context.newCDPSession(page)
    await page.goto(`${demo.url}?interval=${INTERVAL}&timeout=${TIMEOUT}&probeTimeout=${PROBE_TIMEOUT}&initialDelay=100&maxDelay=200`)
    await page.waitForSelector('body[data-state="open"]', { timeout: 10_000, state: 'attached' })
  })

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  it('probes when the page is shown again and keeps the connection while the server answers', async () => {
    await setVisibility('hidden')
    const shown = await setVisibility('visible')
    await page.waitForSelector('#timeline li:has-text("probe sent")', { state: 'attached', timeout: 2_000 })
    await page.waitForFunction(() => document.body.dataset.heartbeat === 'waiting', undefined, { timeout: 2_000 })
    expect(await path(shown)).toEqual(['open.probing', 'open.waiting'])
    await page.waitForTimeout(PROBE_TIMEOUT * 2)
    expect(await path(shown)).toEqual(['open.probing', 'open.waiting']) // no reconnect
  })

  it('finds a link that died while the page was frozen within the probe timeout, not interval + timeout', async () => {
    const name = await page.evaluate(() => (window as unknown as { lifelineDemo: { name: string } }).lifelineDemo.name)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause') // frozen: no JavaScript runs on the page
    const fault = await fetch(`${demo.url}api/fault`, { method: 'POST', body: JSON.stringify({ name, kind: 'blackhole' }) })
    expect(fault.status).toBe(204)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    await cdp.send('Debugger.resume')
    const resumed = await page.evaluate(() => {
      const at = performance.now() // before: the event is handled synchronously
      document.dispatchEvent(new Event('resume'))
      return at
    })
    await page.waitForFunction(() => document.body.dataset.state === 'backoff' || document.body.dataset.state === 'connecting', undefined, { timeout: 3_000 }).catch(async (error: Error) => {
      const timeline = await page.evaluate(() => [...document.querySelectorAll('#timeline li')].slice(0, 12).map((li) => li.textContent))
      throw new Error(`${error.message}\n${JSON.stringify(await history())}\n${timeline.join('\n')}`)
    })
    const moments = (await history()).filter((m) => m.at >= resumed)
    const dead = moments.find((m) => m.state === 'backoff')!
    expect(moments.map((m) => (m.state === 'open' ? `open.${m.heartbeat}` : m.state)).slice(0, 2)).toEqual(['open.probing', 'backoff'])
    expect(dead.at - resumed).toBeGreaterThanOrEqual(PROBE_TIMEOUT - 5)
    expect(dead.at - resumed).toBeLessThan(PROBE_TIMEOUT + 1_000) // far from interval + timeout (20 s)
    await page.waitForSelector('body[data-state="open"]', { timeout: 5_000, state: 'attached' })
  })
})
