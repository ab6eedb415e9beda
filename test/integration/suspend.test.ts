/**
 * A stopped process, for real: a lifeline client in a child process is
 * suspended with SIGSTOP for 0.5, 1.5, 3 and 10 s at different phases of its
 * heartbeat, against a real server that answers pings after 700 ms, then
 * resumed with SIGCONT. Its timers fire late, after a gap no threshold could
 * classify; the input that arrived meanwhile sits unread in the socket.
 *
 * - A live link is never dropped: the pong that arrived while the client was
 *   stopped is read before any late timer judges, and the heartbeat goes on
 *   on the same socket.
 * - A link black-holed during the suspension (the TCP proxy stops forwarding)
 *   is found within `probeTimeout` of resuming, not `interval + timeout` later.
 *
 * Every phase of one suspension length runs in its own child, all at once, so
 * the file takes about as long as its longest suspension plus the watch.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import type { SuspendCommand, SuspendReport } from '../helpers/suspend-client.js'
import { startProxy, startServer, until, type BlackHoleProxy } from '../helpers/servers.js'

const HEARTBEAT = { interval: 100, timeout: 1_500, probeTimeout: 1_000 }
const PONG_AFTER_MS = 700
// Resuming, the child's event loop and the parent's timers are ms late, not hundreds.
const MARGIN_MS = 300
// Long enough for a wrongly judged timeout, a probe and a reconnect to show.
const WATCH_MS = HEARTBEAT.timeout + HEARTBEAT.probeTimeout + 500

const PHASES: Record<string, SuspendCommand['stop']> = {
  'waiting for the next ping': { after: 'proof', delay: 20 },
  // 100 ms, not 50: stopped 50 ms after the ping for as long as the timeout (1.5 s),
  // the deadline fell due just LATE_AFTER_MS before the resumption, and whether
  // the timer counted as late turned on the IPC hop. The pong still comes during the stop.
  'a ping just sent': { after: 'ping', delay: 100 },
  'a ping whose pong is about to arrive': { after: 'ping', delay: PONG_AFTER_MS - 200 },
}
const BLACK_HOLED = ['waiting for the next ping', 'a ping just sent']

const children = new Set<ChildProcess>()
const proxies = new Set<BlackHoleProxy>()
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  for (const proxy of proxies) await proxy.close()
})

// The child, bundled once: twenty children compiling TypeScript at once would take longer than the suspensions.
const CHILD = fileURLToPath(new URL('../../node_modules/.cache/lifeline-test/suspend-client.mjs', import.meta.url))
await build({
  entryPoints: [fileURLToPath(new URL('../helpers/suspend-client.ts', import.meta.url))],
  outfile: CHILD,
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  logLevel: 'silent',
})

// Answers each ping 700 ms late, on the socket it came from.
const slowPongs = await startServer((socket) => {
  socket.on('message', (data) => {
    if (data.toString() === 'ping') setTimeout(() => socket.readyState === 1 && socket.send('pong'), PONG_AFTER_MS)
  })
})
afterAll(() => slowPongs.close())

interface Run {
  reports: SuspendReport[]
  resumedAt: number
  accepted: () => number
}

let serial = 0

/**
 * Runs one client and stops it at `phase` for `ms` (SIGSTOP from here, an
 * IPC hop after the phase), black-holing its link meanwhile if asked;
 * resolves once it is resumed.
 */
async function suspend(phase: SuspendCommand['stop'], ms: number, blackHole: boolean): Promise<Run> {
  const name = `client-${serial++}`
  let proxy: BlackHoleProxy | undefined
  if (blackHole) {
    proxy = await startProxy(slowPongs.port)
    proxies.add(proxy)
  }
  let accepted = 0
  slowPongs.wss.on('connection', (_socket, request) => {
    if (new URL(request.url ?? '/', 'http://x').searchParams.get('name') === name) accepted++
  })
  const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  const reports: SuspendReport[] = []
  const stopped = new Promise<void>((resolve) => {
    child.on('message', (report: SuspendReport) => {
      reports.push(report)
      if (report.ev === 'ready') {
        const url = `ws://127.0.0.1:${proxy?.port ?? slowPongs.port}/?name=${name}`
        child.send({ url, heartbeat: HEARTBEAT, stop: phase } satisfies SuspendCommand)
      }
      if (report.ev === 'stopping') resolve()
    })
  })
  await stopped
  child.kill('SIGSTOP')
  proxy?.blackHole()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const resumedAt = Date.now()
  child.kill('SIGCONT')
  return { reports, resumedAt, accepted: () => accepted }
}

const after = (run: Run) => run.reports.filter((r): r is Extract<SuspendReport, { at: number }> => 'at' in r && r.at >= run.resumedAt)

async function keepsLiveLink(run: Run): Promise<void> {
  // The heartbeat goes on: a proof after resuming, on the one socket there ever was.
  await until(() => after(run).some((r) => r.ev === 'heartbeat' && r.type === 'proof'), WATCH_MS, 'a proof after resuming')
  await new Promise((resolve) => setTimeout(resolve, WATCH_MS))
  const states = after(run).filter((r) => r.ev === 'state')
  expect(states, 'no state change after resuming').toEqual([])
  expect(after(run).filter((r) => r.ev === 'heartbeat' && r.type === 'timeout'), 'no heartbeat timeout').toEqual([])
  expect(run.accepted(), 'connections the server saw').toBe(1)
}

function findsDeadLink(run: Run): Promise<void> {
  return until(() => after(run).some((r) => r.ev === 'state' && r.previous === 'open'), HEARTBEAT.probeTimeout + MARGIN_MS * 3, 'the dead link found').then(() => {
    const dropped = after(run).find((r): r is Extract<SuspendReport, { ev: 'state' }> => r.ev === 'state' && r.previous === 'open')!
    expect(['probe-timeout', 'heartbeat-timeout']).toContain(dropped.reason)
    expect(dropped.at - run.resumedAt, `found ${dropped.at - run.resumedAt} ms after resuming (${dropped.reason})`).toBeLessThanOrEqual(HEARTBEAT.probeTimeout + MARGIN_MS)
  })
}

describe.runIf(process.platform !== 'win32').concurrent('a client process stopped with SIGSTOP', () => {
  for (const seconds of [0.5, 1.5, 3, 10]) {
    it(`keeps every live link and finds every black-holed one within probeTimeout after a ${seconds} s stop`, async () => {
      const ms = seconds * 1_000
      const live = Object.entries(PHASES).map(async ([phase, stop]) => {
        const run = await suspend(stop, ms, false)
        await keepsLiveLink(run).catch((error: Error) => {
          throw new Error(`live link, ${phase}: ${error.message}\n${JSON.stringify(run.reports)}`)
        })
      })
      const dead = BLACK_HOLED.map(async (phase) => {
        const run = await suspend(PHASES[phase]!, ms, true)
        await findsDeadLink(run).catch((error: Error) => {
          throw new Error(`black-holed link, ${phase}: ${error.message}\n${JSON.stringify(run.reports)}`)
        })
      })
      await Promise.all([...live, ...dead])
    }, 60_000)
  }
})
