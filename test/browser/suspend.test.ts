/**
 * A stalled page in a real Chromium: the page's JavaScript is halted by the
 * DevTools debugger (its own `debugger` statement, at a chosen heartbeat
 * phase) while a real server answers its pings 700 ms late, then resumed.
 * No `resume` or `visibilitychange` event follows, as after a long task, a
 * breakpoint or a frozen laptop lid: only the timers tell. A live link stays
 * on its socket; a link black-holed during the pause (the TCP proxy stops
 * forwarding) is found within `probeTimeout` of the resume.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'
import { startProxy, type BlackHoleProxy } from '../helpers/servers.js'
import type { Entry } from './suspend-page.js'

const PONG_AFTER_MS = 700
const PROBE_TIMEOUT = 1_000
const MARGIN_MS = 300

/** The first of the page's entries that `find` accepts, polled until `ms` passed (undefined then). */
async function poll(read: () => Promise<Entry[]>, find: (entry: Entry) => boolean, ms: number): Promise<Entry | undefined> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = (await read()).find(find)
    if (found !== undefined || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe.runIf(runBrowserTests)('a page halted by the debugger in Chromium', () => {
  let http: Server
  let wss: WebSocketServer
  let browser: Browser
  const proxies: BlackHoleProxy[] = []
  const accepted = new Map<string, number>()
  let port = 0

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./suspend-page.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    })
    const script = bundle.outputFiles[0]!.text
    http = createServer((request, response) => {
      if (request.url?.startsWith('/app.js')) return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/app.js"></script>')
    })
    wss = new WebSocketServer({ server: http })
    wss.on('connection', (socket, request) => {
      const name = new URL(request.url ?? '/', 'http://x').searchParams.get('name') ?? ''
      accepted.set(name, (accepted.get(name) ?? 0) + 1)
      socket.on('message', (data) => {
        if (data.toString() === 'ping') setTimeout(() => socket.readyState === 1 && socket.send('pong'), PONG_AFTER_MS)
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    port = (http.address() as AddressInfo).port
    browser = await launchChromium()
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    for (const proxy of proxies) await proxy.close()
    for (const client of wss?.clients ?? []) client.terminate()
    await new Promise((resolve) => http?.close(resolve))
  })

  /** Opens the page, lets it halt itself at the phase, black-holes its link if asked, and resumes it after `ms`. */
  async function pause(name: string, stop: { after: 'ping' | 'proof'; delay: number }, ms: number, blackHole: boolean) {
    const proxy = blackHole ? await startProxy(port) : undefined
    if (proxy) proxies.push(proxy)
    const page: Page = await browser.newPage()
    const cdp: CDPSession = await page.context().newCDPSession(page)
    await cdp.send('Debugger.enable')
    const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()))
    const ws = `ws://127.0.0.1:${proxy?.port ?? port}/?name=${name}`
    await page.goto(`http://127.0.0.1:${port}/?ws=${encodeURIComponent(ws)}&stopAfter=${stop.after}&stopDelay=${stop.delay}`)
    await paused
    proxy?.blackHole()
    await new Promise((resolve) => setTimeout(resolve, ms))
    const resumedAt = Date.now()
    await cdp.send('Debugger.resume')
    const log = (): Promise<Entry[]> => page.evaluate(() => (window as unknown as { lifelineTest: { log: Entry[] } }).lifelineTest.log)
    const after = async () => (await log()).filter((e) => e.at >= resumedAt)
    return { page, resumedAt, log, after }
  }

  it('keeps a live link through a 3 s pause with a ping pending', async () => {
    const run = await pause('live-pending', { after: 'ping', delay: 50 }, 3_000, false)
    const proof = await poll(run.after, (e) => e.ev === 'heartbeat' && e.type === 'proof', 3_000)
    expect(proof, JSON.stringify(await run.log())).toBeDefined()
    await new Promise((resolve) => setTimeout(resolve, 1_500 + PROBE_TIMEOUT + 500)) // time for a wrong verdict to show
    const entries = await run.after()
    expect(entries.filter((e) => e.ev === 'state'), JSON.stringify(await run.log())).toEqual([])
    expect(accepted.get('live-pending')).toBe(1)
    await run.page.close()
  })

  for (const [phase, stop] of [['waiting for the next ping', { after: 'proof', delay: 20 }], ['a ping just sent', { after: 'ping', delay: 50 }]] as const) {
    it(`finds a link black-holed during a 1.5 s pause (${phase}) within probeTimeout of the resume`, async () => {
      const run = await pause(`dead-${stop.after}`, stop, 1_500, true)
      const dropped = await poll(run.after, (e) => e.ev === 'state' && e.previous === 'open', PROBE_TIMEOUT + MARGIN_MS * 3)
      expect(dropped, JSON.stringify(await run.log())).toBeDefined()
      expect(['probe-timeout', 'heartbeat-timeout']).toContain(dropped!.reason)
      expect(dropped!.at - run.resumedAt, JSON.stringify(await run.log())).toBeLessThanOrEqual(PROBE_TIMEOUT + MARGIN_MS)
      await run.page.close()
    })
  }
})
