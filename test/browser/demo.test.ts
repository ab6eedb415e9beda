/**
 * The demo page in a real Chromium: the lifeline browser build on the native
 * WebSocket, against the demo server's lifeline/server. Short heartbeat and
 * backoff settings come from the query string.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type Demo } from '../../demo/server.js'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'

interface Moment {
  at: number
  state: string
  heartbeat: string
  buttons: { connect: boolean; send: boolean; close: boolean }
}

const SETTINGS = '?interval=300&timeout=300&initialDelay=100&maxDelay=200'

describe.runIf(runBrowserTests)('demo page in Chromium', () => {
  let demo: Demo
  let browser: Browser
  let context: BrowserContext
  let page: Page

  const history = () => page.evaluate(() => (window as unknown as { lifelineDemo: { history: Moment[] } }).lifelineDemo.history)
  const state = () => page.evaluate(() => document.body.dataset.state)
  const waitForState = (name: string, timeout = 5_000) => page.waitForSelector(`body[data-state="${name}"]`, { timeout, state: 'attached' })
  const since = async (start: number) => (await history()).filter((m) => m.at >= start)
  const now = () => page.evaluate(() => performance.now())

  beforeAll(async () => {
    demo = await startDemo({ port: 0 })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1500, height: 1050 } })
    page = await context.newPage()
    page.on('pageerror', (error) => console.error('page error:', error))
    await page.goto(demo.url + SETTINGS)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  it('shows the package\'s inspector panel, following the connection', async () => {
    await waitForState('open')
    await page.waitForSelector('#inspector > [data-lifeline-inspector][data-state^="open."]', { state: 'attached' })
    expect(await page.evaluate(() => document.querySelector('#inspector > [data-lifeline-inspector]')?.hasAttribute('data-floating'))).toBe(false)
  })

  it('connects and echoes', async () => {
    await waitForState('open')
    await page.fill('#message', 'hello from the browser')
    await page.click('#send')
    await page.waitForSelector('#messages li:has-text("echo: hello from the browser")')
  })

  it('finds a server that stops answering heartbeats: ackPending, backoff, then a new connection', async () => {
    await waitForState('open')
    const start = await now()
    await page.click('#fault-mute')
    await page.waitForFunction((t) => (window as unknown as { lifelineDemo: { history: Moment[] } }).lifelineDemo.history.some((m) => m.at > t && m.state === 'backoff'), start, { timeout: 5_000 })
    await waitForState('open')
    const path = (await since(start)).map((m) => (m.state === 'open' ? `open.${m.heartbeat}` : m.state))
    const dead = path.indexOf('backoff')
    expect(path.slice(0, dead)).toContain('open.ackPending')
    expect(path.slice(dead)).toEqual(expect.arrayContaining(['connecting', 'open.waiting']))
    await page.waitForSelector('#timeline li:has-text("heartbeat timeout")', { state: 'attached' })
  })

  it('goes offline without attempts and reconnects at once when back online', async () => {
    await waitForState('open')
    const start = await now()
    await context.setOffline(true)
    await waitForState('offline')
    await page.waitForTimeout(1_000) // several backoff windows
    expect((await since(start)).map((m) => m.state).filter((s) => s === 'connecting')).toEqual([])
    expect(await state()).toBe('offline')
    const back = await now()
    await context.setOffline(false)
    await waitForState('open', 3_000)
    const after = await since(back)
    expect(after[0]?.state).toBe('connecting')
    expect(after[0]!.at - back).toBeLessThan(500) // at once, not after a backoff
  })

  it('does not dial when navigator.onLine is false at open()', async () => {
    await waitForState('open')
    await page.click('#close')
    await waitForState('idle')
    await context.setOffline(true)
    const start = await now()
    await page.click('#connect')
    await waitForState('offline')
    expect((await since(start)).map((m) => m.state)).toEqual(['offline'])
    await context.setOffline(false)
    await waitForState('open', 3_000)
  })

  it('finds a black-holed link and a reset connection, and survives a server restart', async () => {
    for (const fault of ['#fault-blackhole', '#fault-reset', '#fault-restart']) {
      await waitForState('open')
      const start = await now()
      await page.click(fault)
      await page.waitForFunction((t) => (window as unknown as { lifelineDemo: { history: Moment[] } }).lifelineDemo.history.some((m) => m.at > t && m.state !== 'open'), start, { timeout: 5_000 })
      await waitForState('open', 8_000)
    }
  })

  it('closes with the close button and never reconnects', async () => {
    await waitForState('open')
    await page.click('#close')
    await waitForState('idle')
    const start = await now()
    await page.waitForTimeout(800)
    expect(await since(start)).toEqual([])
    expect(await page.isEnabled('#connect')).toBe(true)
    expect(await page.isDisabled('#send')).toBe(true)
    expect(await page.isDisabled('#close')).toBe(true)
  })

  it('enabled the buttons to match the state throughout', async () => {
    const moments = await history()
    expect(moments.length).toBeGreaterThan(10)
    for (const { state, buttons } of moments) {
      expect(buttons, state).toEqual({
        connect: state === 'idle' || state === 'failed',
        send: state === 'open',
        close: state !== 'idle' && state !== 'closing',
      })
    }
  })

  it('looks right (screenshot saved as an artifact)', async () => {
    await page.click('#connect')
    await waitForState('open')
    await page.fill('#message', 'hello again')
    await page.click('#send')
    await page.waitForTimeout(800)
    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/demo.png', fullPage: true })
    if (process.env.LIFELINE_REFRESH_DOCS === '1') copyFileSync('test-results/demo.png', 'docs/demo.png')
  })

  it('opens a second tab that shares the connection: one leads, one follows, both hear the echo', async () => {
    const shared = await browser.newContext()
    try {
      const first = await shared.newPage()
      await first.goto(demo.url + SETTINGS)
      await first.waitForSelector('body[data-state="open"]', { state: 'attached' })
      const [second] = await Promise.all([shared.waitForEvent('page'), first.click('#share')])
      await first.waitForURL(/share=/)
      for (const page of [first, second]) await page.waitForSelector('body[data-state="open"][data-share]', { state: 'attached', timeout: 10_000 })
      const roles = await Promise.all([first, second].map((p) => p.evaluate(() => document.body.dataset.share)))
      expect(roles.sort()).toEqual(['follower', 'leader'])
      const follower = roles[0] === 'follower' ? first : second
      await follower.fill('#message', 'from the follower')
      await follower.click('#send')
      for (const page of [first, second]) await page.waitForSelector('#messages li:has-text("echo: from the follower")')
      await follower.waitForSelector('[data-lifeline-inspector][data-share="follower"]', { state: 'attached' })
    } finally {
      await shared.close()
    }
  })
})
