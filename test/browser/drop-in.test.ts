/**
 * The drop-in's conformance cases (test/drop-in/cases/) in a real Chromium,
 * on its native WebSocket, against the behaviour server on 127.0.0.1: the
 * page (test/browser/drop-in-page.ts) is bundled with esbuild from the
 * browser entry, and each case runs in it by name. The same cases run in
 * Node in test/drop-in/conformance.test.ts; those only a browser can check
 * are in test/drop-in/cases/browser.ts.
 */
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { suites, expectedIn, type Case, type CaseContext } from '../drop-in/cases/index.js'
import { bundle, pageWith, startBehaviourServer, type BehaviourServer } from '../helpers/behaviour-server.js'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'
import { closedPort } from '../helpers/servers.js'
import { browserCases } from '../drop-in/cases/browser.js'

describe.runIf(runBrowserTests)('ReconnectingWebSocket in Chromium', () => {
  let server: BehaviourServer
  let browser: Browser
  let page: Page
  let ctx: Omit<CaseContext, 'RWS'>
  const pageErrors: string[] = []

  beforeAll(async () => {
    server = await startBehaviourServer()
    server.setPage(pageWith(await bundle(fileURLToPath(new URL('./drop-in-page.ts', import.meta.url)))))
    ctx = { server: server.ws, closedPort: await closedPort(), platform: 'browser' }
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`${server.http}/page`)
    await page.waitForFunction(() => 'runCase' in window)
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  const run = (c: Case) => async () => {
    const result = await page.evaluate(([name, url, port]) => (window as unknown as { runCase(...a: unknown[]): Promise<unknown> }).runCase(name, url, port), [c.name, ctx.server, ctx.closedPort] as const)
    expect(result).toEqual(expectedIn(c, ctx as CaseContext, result))
    expect(pageErrors).toEqual([])
  }

  for (const { title, cases } of [...suites, { title: 'browser only', cases: browserCases }]) {
    describe(title, () => {
      for (const c of cases) it(c.name, run(c))
    })
  }
})
