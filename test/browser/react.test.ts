/**
 * lifeline-ws/react in a real Chromium, under <StrictMode>, with React 19
 * (the repository's own) and React 18 (test/fixtures/react-18, installed into
 * a temporary directory from the npm cache): the page
 * (test/browser/react-page.tsx) is bundled with esbuild, React included, and
 * the behaviour server counts the sockets it is sent — one per logical
 * connection through StrictMode's double mount, remounts and a module swap,
 * never two at once, never an open-close-open flap.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RELEASE_DELAY } from '../../src/react/index.js'
import { bundle, pageWith, startBehaviourServer, type BehaviourServer, type SocketRecord } from '../helpers/behaviour-server.js'
import { launchChromium, runBrowserTests } from '../helpers/browser.js'
import { run } from '../helpers/package.js'
import { until } from '../helpers/servers.js'

interface Log {
  renders: number
  states: (string | null)[]
  rendersAtOpen: number
  messages: string[]
}

type Controls = Record<
  'mount' | 'setUrl' | 'remount' | 'replaceModule' | 'unmount' | 'mountRoom' | 'mountTokenRooms' | 'rerenderTokenRooms' | 'tokenRooms' | 'reconnectTokenRoom',
  (...args: unknown[]) => unknown
> & { version: string; log: Log }

const PAGE = fileURLToPath(new URL('./react-page.tsx', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

/** Resolves react and react-dom (and their subpaths) from `dir`: the page is bundled with that React. */
function reactFrom(dir: string): Plugin {
  const resolve = createRequire(join(dir, 'package.json')).resolve
  return {
    name: 'react-from',
    setup(build) {
      build.onResolve({ filter: /^(react|react-dom|scheduler)(\/.*)?$/ }, (args) => ({ path: resolve(args.path) }))
    },
  }
}

async function installReact18(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-react-18-'))
  cpSync(join(root, 'test/fixtures/react-18/package.json'), join(dir, 'package.json'))
  const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir, 120_000)
  if (installed.code !== 0) throw new Error(`npm install of React 18 failed:\n${installed.stdout}\n${installed.stderr}`)
  return dir
}

const versions = [
  { name: 'React 19', major: '19', install: async () => root },
  { name: 'React 18', major: '18', install: installReact18 },
]

describe.runIf(runBrowserTests).each(versions)('lifeline-ws/react in Chromium with $name, under StrictMode', ({ major, install }) => {
  let server: BehaviourServer
  let browser: Browser
  let page: Page
  let reactDir: string
  const pageErrors: string[] = []
  let room = 0

  const call = (name: keyof Controls, ...args: unknown[]) =>
    page.evaluate(([n, a]) => (window as unknown as { reactTest: Record<string, (...x: unknown[]) => unknown> }).reactTest[n as string]!(...(a as unknown[])), [name, args] as const)
  const log = () => page.evaluate(() => (window as unknown as { reactTest: Controls }).reactTest.log)
  const shownState = () => page.evaluate(() => document.getElementById('live')?.dataset.state)
  const waitForState = (state: string) => page.waitForSelector(`#live[data-state="${state}"]`, { state: 'attached', timeout: 5_000 })
  /** A URL on `path` no other test uses, and the sockets the server accepted for it. */
  const fresh = (path: string, query = '') => {
    const id = `${major}-${++room}`
    const sockets = (): SocketRecord[] => server.sockets(path).filter((s) => s.query.get('room') === id)
    return { url: `${server.ws}${path}?room=${id}${query}`, sockets }
  }
  const roomsOpen = (names: string[]) =>
    page.waitForFunction((n) => (window as unknown as { reactTest: { tokenRooms(n: string[]): { states: string[] } } }).reactTest.tokenRooms(n).states.every((state) => state === 'open'), names, { timeout: 5_000 })
  // Long enough for a release that should not happen to have happened.
  const pastTheReleaseDelay = () => new Promise((resolve) => setTimeout(resolve, RELEASE_DELAY * 2))

  beforeAll(async () => {
    reactDir = await install()
    server = await startBehaviourServer()
    server.setPage(pageWith(await bundle(PAGE, { plugins: [reactFrom(reactDir)], jsx: 'automatic', define: { 'process.env.NODE_ENV': '"development"' } })))
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`${server.http}/page`)
    await page.waitForFunction(() => 'reactTest' in window)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (reactDir !== undefined && reactDir !== root) rmSync(reactDir, { recursive: true, force: true })
  })

  it(`runs React ${major} in development mode, where StrictMode mounts twice`, async () => {
    expect(await page.evaluate(() => (window as unknown as { reactTest: Controls }).reactTest.version)).toMatch(new RegExp(`^${major}\\.`))
  })

  it('opens exactly one socket over the mount, a quick remount and a module swap, and renders the states as the connection goes', async () => {
    const { url, sockets } = fresh('/echo')
    await call('mount', url)
    await waitForState('open')
    await call('remount')
    expect(await shownState()).toBe('open')
    await call('replaceModule')
    expect(await shownState()).toBe('open')
    await pastTheReleaseDelay()
    expect(sockets()).toHaveLength(1)
    expect(sockets()[0]!.closedAt).toBeUndefined()
    expect((await log()).states).toEqual(['idle', 'connecting', 'open'])
    await call('unmount')
    await until(() => sockets()[0]!.closedAt !== undefined, 2_000, 'the close')
    expect(server.mostOpenAtOnce('/echo')).toBe(1)
    expect(pageErrors).toEqual([])
  })

  it('shares one socket among components rendering with the same options', async () => {
    const { url, sockets } = fresh('/echo')
    await call('mount', url, 3)
    await waitForState('open')
    await pastTheReleaseDelay()
    expect(sockets()).toHaveLength(1)
    await call('unmount')
    await until(() => sockets()[0]!.closedAt !== undefined, 2_000, 'the close')
  })

  it('renders each state of the connection through a dropped link: backoff, connecting, open again', async () => {
    const { url, sockets } = fresh('/drop', `&after=100&once=${major}-${room}`)
    await call('mount', url)
    await until(() => sockets().length === 2 && sockets()[1]!.closedAt === undefined, 5_000, 'the second socket')
    await waitForState('open')
    expect((await log()).states).toEqual(['idle', 'connecting', 'open', 'backoff', 'connecting', 'open'])
    await call('unmount')
  })

  it('hands every one of 1,000 messages sent in a burst to the listener, in order, with no render for them', async () => {
    const { url } = fresh('/burst', '&count=1000')
    await call('mount', url)
    await page.waitForFunction(() => (window as unknown as { reactTest: Controls }).reactTest.log.messages.length >= 1_000, undefined, { timeout: 5_000 })
    const seen = await log()
    expect(seen.messages).toEqual(Array.from({ length: 1_000 }, (_, i) => String(i)))
    expect(seen.renders).toBe(seen.rendersAtOpen)
    await call('unmount')
  })

  it('closes the socket within a second of the unmount', async () => {
    const { url, sockets } = fresh('/echo')
    await call('mount', url)
    await waitForState('open')
    await call('unmount')
    await until(() => sockets()[0]?.closedAt !== undefined, 1_000, 'the close within a second')
    expect(sockets()[0]!.code).toBe(1000)
  })

  it('moves to the new URL when the url changes: the old socket closes, one opens to the new URL', async () => {
    const before = fresh('/echo')
    const after = fresh('/echo')
    await call('mount', before.url)
    await waitForState('open')
    await call('setUrl', after.url)
    await until(() => before.sockets()[0]!.closedAt !== undefined && after.sockets().length === 1, 2_000, 'the move')
    await waitForState('open')
    await pastTheReleaseDelay()
    expect([before.sockets().length, after.sockets().length, after.sockets()[0]!.closedAt]).toEqual([1, 1, undefined])
    expect((await log()).states).toEqual(['idle', 'connecting', 'open', 'idle', 'connecting', 'open'])
    await call('unmount')
  })

  it('gives each component whose url is a function its own connection: two rooms, two sockets, each to its own room, through re-renders and a reconnect', async () => {
    const id = `${major}-${++room}`
    const [alice, bob] = [`${id}-alice`, `${id}-bob`]
    const of = (name: string) => server.sockets('/echo').filter((s) => s.query.get('room') === name)
    const rooms = () => call('tokenRooms', [alice, bob]) as Promise<{ shared: boolean; states: string[] }>
    await call('mountTokenRooms', `${server.ws}/echo`, [alice, bob])
    await roomsOpen([alice, bob])
    await call('rerenderTokenRooms')
    await pastTheReleaseDelay()
    expect((await rooms()).shared).toBe(false)
    expect([of(alice).length, of(bob).length, of(alice)[0]!.closedAt, of(bob)[0]!.closedAt]).toEqual([1, 1, undefined, undefined])
    await call('reconnectTokenRoom', alice)
    await until(() => of(alice).length === 2, 2_000, "alice's second socket")
    // The latest render's url function of alice's own component: tick 1.
    expect([of(alice)[1]!.query.get('tick'), of(bob).length, of(bob)[0]!.closedAt]).toEqual(['1', 1, undefined])
    await call('unmount')
    await until(() => [...of(alice), ...of(bob)].every((s) => s.closedAt !== undefined), 2_000, 'the closes')
    expect(pageErrors).toEqual([])
  })

  it('shares one connection among components that give the same key, and moves it when the key changes', async () => {
    const id = `${major}-${++room}`
    const names = [`${id}-a`, `${id}-b`]
    const all = () => server.sockets('/echo').filter((s) => names.includes(s.query.get('room') ?? ''))
    const rooms = () => call('tokenRooms', names) as Promise<{ shared: boolean; states: string[] }>
    await call('mountTokenRooms', `${server.ws}/echo`, names, `${id}-first`)
    await roomsOpen(names)
    await pastTheReleaseDelay()
    expect([(await rooms()).shared, all().length]).toEqual([true, 1])
    await call('rerenderTokenRooms', `${id}-second`)
    await until(() => all().length === 2 && all()[0]!.closedAt !== undefined, 2_000, 'the move')
    await roomsOpen(names)
    await pastTheReleaseDelay()
    expect([(await rooms()).shared, all().length, all()[1]!.closedAt]).toEqual([true, 2, undefined])
    await call('unmount')
    expect(pageErrors).toEqual([])
  })

  it('runs the README example: a room that sends and shows the echo', async () => {
    await call('mountRoom', `${server.ws}/echo`, `alice-${major}`)
    await page.click('section[data-state="open"] button', { timeout: 5_000 })
    await page.waitForSelector(`li:has-text("hello from alice-${major}")`, { timeout: 5_000 })
    await call('unmount')
    expect(pageErrors).toEqual([])
  })
})
