/**
 * lifeline-ws/inspector in a real Chromium: a plain page with a live
 * connection (created without an `inspect` option) and the floating panel,
 * against the demo server's lifeline server and its fault controls. The
 * panel follows the connection through a black-holed link; a recorded
 * trace is replayed in a fresh page and stepped through. Screenshots go to
 * test-results/ (and to docs/ with LIFELINE_REFRESH_DOCS=1).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type Demo } from '../../demo/server.js'
import { parseTrace, type Trace } from '../../src/inspector/index.js'
import { dotted } from '../../src/inspector/timeline.js'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'

const PLAIN = fileURLToPath(new URL('./pages/plain.ts', import.meta.url))
const SETTINGS = '?interval=300&timeout=300&initialDelay=100&maxDelay=200'
const PANEL = '[data-lifeline-inspector]'
const refreshDocs = process.env.LIFELINE_REFRESH_DOCS === '1'

interface PageApi {
  name: string
  record(): void
  stop(): Trace
  replay(trace: Trace): void
}

describe.runIf(runBrowserTests)('inspector panel in Chromium', () => {
  let demo: Demo
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let trace: Trace

  const call = <K extends keyof PageApi>(p: Page, key: K) =>
    p.evaluate((k) => {
      const value = (window as unknown as { lifelinePage: Record<string, unknown> }).lifelinePage[k]
      return typeof value === 'function' ? (value as () => unknown)() : value
    }, key) as Promise<PageApi[K] extends () => infer R ? R : PageApi[K]>
  const shown = (p: Page) => p.evaluate((selector) => document.querySelector(selector)?.getAttribute('data-state'), PANEL)
  const waitForShown = (p: Page, state: string, timeout = 5_000) => p.waitForSelector(`${PANEL}[data-state="${state}"]`, { state: 'attached', timeout })
  // The states the chart highlights, once it has caught up with data-state (it draws at most every 30 ms).
  const highlighted = async (p: Page) => {
    await p.waitForFunction((selector) => {
      const host = document.querySelector(selector)!
      const leaf = host.shadowRoot!.querySelector('.lc-state.lc-active:not(.lc-compound)')
      return leaf?.getAttribute('data-id') === `connection.${host.getAttribute('data-state')}`
    }, PANEL, { timeout: 2_000 })
    return p.evaluate((selector) => [...document.querySelector(selector)!.shadowRoot!.querySelectorAll('.lc-state.lc-active')].map((g) => g.getAttribute('data-id')), PANEL)
  }

  beforeAll(async () => {
    mkdirSync('test-results', { recursive: true })
    demo = await startDemo({ port: 0, pages: { '/plain.html': PLAIN } })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
    page = await context.newPage()
    page.on('pageerror', (error) => console.error('page error:', error))
    await page.goto(`${demo.url}plain.html${SETTINGS}`)
    await waitForShown(page, 'open.waiting')
    // Every state the panel shows, in order, as a user would see them come and go.
    await page.evaluate((selector) => {
      const host = document.querySelector(selector)!
      const seen: string[] = [host.getAttribute('data-state') ?? '']
      ;(window as unknown as { shownStates: string[] }).shownStates = seen
      new MutationObserver(() => {
        const state = host.getAttribute('data-state') ?? ''
        if (seen.at(-1) !== state) seen.push(state)
      }).observe(host, { attributes: true, attributeFilter: ['data-state'] })
    }, PANEL)
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  it('follows the connection through a black-holed link: ackPending, backoff, connecting, open again', async () => {
    await call(page, 'record')
    const name = await call(page, 'name')
    const fault = await fetch(`${demo.url}api/fault`, { method: 'POST', body: JSON.stringify({ name, kind: 'blackhole' }) })
    expect(fault.status).toBe(204)
    // From the panel's own record of what it showed: backoff lasts less than a polling interval.
    await page.waitForFunction(() => {
      const seen = (window as unknown as { shownStates: string[] }).shownStates
      return seen.indexOf('backoff') !== -1 && seen.slice(seen.indexOf('backoff')).includes('open.waiting')
    }, undefined, { timeout: 8_000 })
    const states = await page.evaluate(() => (window as unknown as { shownStates: string[] }).shownStates)
    const dead = states.indexOf('backoff')
    expect(states.slice(0, dead)).toContain('open.ackPending')
    expect(states.slice(dead)).toEqual(expect.arrayContaining(['connecting', 'open.waiting']))
    expect(states.slice(dead).indexOf('connecting')).toBeLessThan(states.slice(dead).lastIndexOf('open.waiting'))
    expect(await highlighted(page)).toEqual(['connection.open', 'connection.open.waiting'])
    // The page as the README shows it: the timeout and the retry still near the top of the timeline.
    await page.screenshot({ path: 'test-results/inspector-page.png' })
    if (refreshDocs) copyFileSync('test-results/inspector-page.png', 'docs/inspector.png')
  })

  it('shows the timeout and the retry with its delay and reason in the timeline', async () => {
    await page.waitForSelector(`${PANEL} #timeline li:has-text("heartbeat timeout: link declared dead")`, { state: 'attached' })
    const retry = await page.locator(`${PANEL} #timeline li:has-text("retry 1 in")`).first().textContent()
    expect(retry).toMatch(/retry 1 in 0\.\d\d s after heartbeatTimeout/)
    await page.waitForSelector(`${PANEL} #timeline li:has-text("proof of life, round trip")`, { state: 'attached' })
  })

  it('counts the pending timer down', async () => {
    await waitForShown(page, 'open.waiting')
    const timers = await page.locator(`${PANEL} #timers`).textContent()
    expect(timers).toMatch(/heartbeat(Interval|Timeout) \(open\.(waiting|ackPending)\): (next ping|link declared dead) in \d\.\d s/)
  })

  it('draws every label inside its box, as laid out', async () => {
    const overflowing = await page.evaluate((selector) => {
      const root = document.querySelector(selector)!.shadowRoot!
      const out: string[] = []
      for (const label of root.querySelectorAll('.lc-label')) {
        const box = (label.querySelector('rect') as SVGRectElement).getBBox()
        for (const text of label.querySelectorAll('text')) {
          const b = (text as SVGTextElement).getBBox()
          if (b.x + b.width > box.x + box.width + 1 || b.x < box.x - 1) out.push(`${label.getAttribute('data-edge')}: ${text.textContent}`)
        }
      }
      return out
    }, PANEL)
    expect(overflowing).toEqual([])
  })

  it('looks right (a screenshot of the panel saved as an artifact)', async () => {
    await waitForShown(page, 'open.waiting')
    await page.waitForTimeout(200)
    await page.locator(PANEL).screenshot({ path: 'test-results/inspector-panel.png' })
  })

  it('records a trace that replays in a fresh page, stepping back and forth with the chart following', async () => {
    trace = await call(page, 'stop')
    expect(() => parseTrace(trace)).not.toThrow()
    expect(trace.steps.map((s) => dotted(s.value))).toEqual(expect.arrayContaining(['open.ackPending', 'backoff', 'connecting', 'open.waiting']))
    const replay = await context.newPage()
    await replay.goto(`${demo.url}plain.html?replay`)
    await replay.waitForSelector('body[data-ready="true"]', { state: 'attached' })
    await replay.evaluate((t) => (window as unknown as { lifelinePage: PageApi }).lifelinePage.replay(t as unknown as Trace), trace as unknown as Record<string, unknown>)
    await replay.waitForSelector(`${PANEL}[data-mode="trace"][data-step="-1"]`, { state: 'attached' })
    expect(await shown(replay)).toBe(dotted(trace.initial.value))
    const leafOf = (value: unknown) => `connection.${dotted(value as never)}`
    const check = async (index: number) => {
      await replay.waitForSelector(`${PANEL}[data-step="${index}"]`, { state: 'attached' })
      const value = index < 0 ? trace.initial.value : trace.steps[index]!.value
      expect(await shown(replay)).toBe(dotted(value))
      expect(await highlighted(replay)).toContain(leafOf(value))
    }
    const forward = replay.locator(`${PANEL} button[title^="Step forward"]`)
    const back = replay.locator(`${PANEL} button[title^="Step back"]`)
    const steps = Math.min(trace.steps.length, 12)
    for (let i = 0; i < steps; i++) {
      await forward.click()
      await check(i)
    }
    for (let i = steps - 2; i >= steps - 8 && i >= -1; i--) {
      await back.click()
      await check(i)
    }
    // Straight to the moment the link was declared dead, from the timeline.
    const dead = trace.steps.findIndex((s) => dotted(s.value) === 'backoff')
    await replay.locator(`${PANEL} #timeline li[data-step="${dead}"]`).first().click()
    await check(dead)
    const taken = await replay.evaluate((selector) => [...document.querySelector(selector)!.shadowRoot!.querySelectorAll('.lc-edge.lc-taken')].map((e) => e.getAttribute('data-id')), PANEL)
    expect(taken).toEqual(['connection.open.ackPending->connection.backoff'])
    await replay.keyboard.press('ArrowRight') // no focus in the panel yet: nothing moves
    await replay.locator(`${PANEL} button[title^="Step forward"]`).focus()
    await replay.keyboard.press('ArrowRight')
    await check(dead + 1)
    await replay.locator(PANEL).screenshot({ path: 'test-results/inspector-replay.png' })
    await replay.close()
  }, 60_000)

  it('lists at most 20 pending timers and counts the rest, and refuses a file nested deeper than any recording, naming the field', async () => {
    const hostile = await context.newPage()
    await hostile.goto(`${demo.url}plain.html?replay`)
    await hostile.waitForSelector('body[data-ready="true"]', { state: 'attached' })
    const actions = Array.from({ length: 256 }, (_, i) => ({ type: 'xstate.raise', params: { id: `t${i}`, delay: i } }))
    const many: Trace = { format: 'lifeline-trace', version: 1, machine: 'connection', startedAt: 1, dropped: 0, initial: { value: 'idle', context: {}, timers: [] }, steps: [{ at: 1, event: { type: 'open' }, transitions: [], actions, value: 'connecting', context: {} }] }
    await hostile.evaluate((t) => (window as unknown as { lifelinePage: PageApi }).lifelinePage.replay(t as unknown as Trace), many as unknown as Record<string, unknown>)
    await hostile.locator(`${PANEL} button[title^="Step forward"]`).click()
    await hostile.waitForSelector(`${PANEL}[data-step="0"]`, { state: 'attached' })
    const listed = await hostile.locator(`${PANEL} #timers li`).allTextContents()
    expect(listed).toHaveLength(21)
    expect(listed[0]).toBe('t0: fires in 0.0 s')
    expect(listed.at(-1)).toBe('and 236 more')
    const depth = 20_000
    const deep = `{"format":"lifeline-trace","version":1,"machine":"connection","startedAt":1,"dropped":0,"initial":{"value":"idle","context":{},"timers":[]},"steps":[{"at":1,"event":{"type":"open"},"transitions":[],"actions":[],"value":"idle","context":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}]}`
    await hostile.locator(`${PANEL} input[type=file]`).setInputFiles({ name: 'deep.json', mimeType: 'application/json', buffer: Buffer.from(deep) })
    await hostile.waitForSelector(`${PANEL} .notice:has-text("Could not load deep.json: Not a lifeline trace: steps[0].context.x[0][0]")`, { state: 'attached' })
    expect(await hostile.locator(`${PANEL} .notice`).textContent()).toMatch(/must be JSON at most 32 deep, got an array$/)
    expect(await hostile.locator(`${PANEL} select option`).count()).toBe(1) // the replayed trace alone: the refused file added nothing
    await hostile.close()
  })

  it('saves a trace from its Record button, and loads one from a file chosen or dropped', async () => {
    const record = page.locator(`${PANEL} button:has-text("Record")`)
    await record.click()
    await page.waitForTimeout(700) // a few heartbeats
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`${PANEL} button:has-text("Stop & save")`).click()])
    const saved = parseTrace(readFileSync(await download.path(), 'utf8'))
    expect(saved.steps.length).toBeGreaterThan(2)
    expect(download.suggestedFilename()).toMatch(/^lifeline-trace-.*\.json$/)
    await page.locator(`${PANEL} input[type=file]`).setInputFiles({ name: 'bug-report.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(trace)) })
    await page.waitForSelector(`${PANEL}[data-mode="trace"]`, { state: 'attached' })
    const options = await page.locator(`${PANEL} select option`).allTextContents()
    expect(options).toEqual(['this page', expect.stringMatching(/^recording of /), expect.stringMatching(/^bug-report\.json \(\d+ steps\)$/)])
    await page.locator(`${PANEL} input[type=file]`).setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"lifeline-trace","version":2}') })
    await page.waitForSelector(`${PANEL} .notice:has-text("Could not load broken.json: Not a lifeline trace: version must be 1")`, { state: 'attached' })
    await page.locator(`${PANEL} select`).selectOption({ label: 'this page' })
    await page.waitForSelector(`${PANEL}[data-mode="live"]`, { state: 'attached' })
    // Dropped on the panel: a file, as the browser hands it over.
    await page.evaluate(([selector, text]) => {
      const transfer = new DataTransfer()
      transfer.items.add(new File([text], 'dropped.json', { type: 'application/json' }))
      const panel = document.querySelector(selector)!.shadowRoot!.querySelector('.panel')!
      panel.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }))
      panel.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    }, [PANEL, JSON.stringify(trace)] as const)
    await page.waitForSelector(`${PANEL}[data-mode="trace"]`, { state: 'attached' })
    expect(await page.locator(`${PANEL} select`).inputValue()).toMatch(/^trace-/)
    expect(await page.locator(`${PANEL} select option:checked`).textContent()).toMatch(/^dropped\.json \(\d+ steps\)$/)
  })

  it('says stopped when its connection is disposed, and refuses a missing target or a non-connection', async () => {
    expect(await page.evaluate(() => (window as unknown as { lifelinePage: { disposeWhileMounted(): string } }).lifelinePage.disposeWhileMounted())).toBe('idle')
    await page.waitForSelector('#second > [data-lifeline-inspector] .pill:has-text("(stopped)")', { state: 'attached' })
    const errors = await page.evaluate(() => (window as unknown as { lifelinePage: { misuse(): Array<{ code: string; message: string }> } }).lifelinePage.misuse())
    expect(errors).toEqual([
      { code: 'LIFELINE_INVALID_OPTION', message: 'mountInspector() option target matches no element: "#nowhere"' },
      { code: 'LIFELINE_INVALID_ARGUMENT', message: 'mountInspector() expects a lifeline connection or a trace, got an object (Object)' },
      { code: 'LIFELINE_INVALID_OPTION', message: 'mountInspector() option target must be an element or a CSS selector, got 42' },
    ])
    expect(await page.evaluate(() => document.querySelectorAll('[data-lifeline-inspector]').length)).toBe(2) // the refused ones left nothing behind
  })

  it('unmounts: the panel is gone and the connection runs on', async () => {
    expect(await page.evaluate(() => document.querySelectorAll('body > [data-lifeline-inspector]').length)).toBe(1)
    await page.evaluate(() => (window as unknown as { lifelinePage: { unmount(): void } }).lifelinePage.unmount())
    expect(await page.evaluate(() => document.querySelectorAll('body > [data-lifeline-inspector]').length)).toBe(0)
    await page.waitForTimeout(400)
    expect(await page.evaluate(() => (window as unknown as { lifelinePage: { state(): string } }).lifelinePage.state())).toBe('open')
  })
})
