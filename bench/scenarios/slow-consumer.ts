// Slow consumer: the application floods a client that has stopped reading.
// The server runs in a fresh worker process (--expose-gc); the client in a
// process of its own (bench/stalled-client.ts) pauses its TCP socket, so the
// kernel's buffers fill and then the server's socket really holds what it is
// given. lifeline's server (plain and reliable delivery, default options)
// against a bare ws WebSocketServer doing the same sends.
import { pathToFileURL } from 'node:url'
import type WebSocket from 'ws'
import { BUILT } from '../build.js'
import { Child } from '../child.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { FULL, HOST, QUICK } from '../settings.js'
import { each, now, orNull, sleep } from '../util.js'
import { collect } from './memory.js'

type Helper = typeof import('../../src/server/index.js')

export type SlowServer = 'lifeline-plain' | 'lifeline-reliable' | 'ws'
const SERVERS: readonly SlowServer[] = ['lifeline-plain', 'lifeline-reliable', 'ws']

/** lifeline's default `maxBufferedBytes`, the bound every lifeline row is judged by. */
const MAX_BUFFERED = 4 * 1024 * 1024
/** The hello of reliable delivery: protocol 1, a new session, nothing received yet. */
const HELLO = JSON.stringify(['hello', 1, '0123456789abcdef0123456789abcdef', 0])
/** One frame's header and the reliable envelope (`["d",seq,ack,…]`) are well under this. */
const FRAMING = 64
const MiB = 1024 * 1024

export interface SlowConsumerParams {
  server: SlowServer
  chunkBytes: number
  floodMs: number
  /** Bare ws buffers without bound: its flood stops once it holds this much. */
  capBytes: number
}

/** Bytes the JavaScript side holds: the V8 heap plus memory outside it (`external` includes `arrayBuffers`). */
const jsBytes = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external

export interface SlowConsumerTrial {
  server: SlowServer
  sends: number
  /** Of those, the ones the server accepted (lifeline's send() returns false once the client is gone). */
  accepted: number
  floodMs: number
  cappedAt: number | null
  peakBufferedAmount: number
  finalBufferedAmount: number
  /** Growth over the baseline after GC: the largest sample during the flood, and after it (lifeline: once the socket closed). */
  peakJsBytes: number
  peakRssBytes: number
  finalJsBytes: number
  finalRssBytes: number
  /** lifeline: ms from the first send to its disconnect event, and to the server socket's close (terminated after closeTimeout). */
  letGoMs: number | null
  socketClosedMs: number | null
  disconnect: { code: number; reason: string } | null
  errorCodes: string[]
  baseline: NodeJS.MemoryUsage
  final: NodeJS.MemoryUsage
}

interface FloodTarget {
  /** The server side of the stalled client's connection, once it connected. */
  socket: () => WebSocket | undefined
  /** Lets go of that socket, so that what it keeps reachable is not counted as the server's. */
  forget: () => void
  send: (data: string) => boolean
  port: number
  stop: () => Promise<void>
  disconnect: { at: number; code: number; reason: string } | null
  errorCodes: string[]
}

async function startLifeline(delivery: 'plain' | 'reliable'): Promise<FloodTarget> {
  const { createHeartbeatServer, nameFromQuery } = (await import(pathToFileURL(BUILT.server).href)) as Helper
  const server = createHeartbeatServer({ port: 0, host: HOST, delivery, identify: nameFromQuery })
  let socket: WebSocket | undefined
  const target: FloodTarget = {
    socket: () => socket,
    forget: () => void (socket = undefined),
    send: (data) => server.send('stalled', data),
    port: (await server.listening).port,
    stop: () => server.close(),
    disconnect: null,
    errorCodes: [],
  }
  server.on('error', (error) => void target.errorCodes.push(error.code))
  server.on('connection', (event) => void (socket = event.socket))
  server.on('disconnect', ({ code, reason }) => void (target.disconnect ??= { at: now(), code, reason }))
  return target
}

async function startWs(): Promise<FloodTarget> {
  const { WebSocketServer } = await import('ws')
  const wss = new WebSocketServer({ host: HOST, port: 0, clientTracking: false })
  let socket: WebSocket | undefined
  wss.on('connection', (s: WebSocket) => {
    socket = s
    s.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    wss.once('error', reject)
    wss.once('listening', resolve)
  })
  const address = wss.address()
  return {
    socket: () => socket,
    forget: () => void (socket = undefined),
    send: (data) => {
      socket?.send(data)
      return socket !== undefined
    },
    port: typeof address === 'object' && address !== null ? address.port : 0,
    stop: async () => {
      socket?.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
    disconnect: null,
    errorCodes: [],
  }
}

/**
 * A new 64 KiB string per send, as an application's messages are: ws queues a
 * server's text frames as the strings themselves, so sending one string again
 * and again would cost the server almost nothing however much it "holds".
 */
function chunks(bytes: number): (i: number) => string {
  const template = Buffer.alloc(bytes, 'x')
  return (i) => {
    template.write(String(i).padStart(12, '0'), 0, 'latin1')
    return template.toString('latin1')
  }
}

export async function slowConsumerWorker(params: SlowConsumerParams): Promise<SlowConsumerTrial> {
  const target = params.server === 'ws' ? await startWs() : await startLifeline(params.server === 'lifeline-reliable' ? 'reliable' : 'plain')
  const client = new Child('./stalled-client.ts')
  try {
    await client.next('ready', 20_000)
    const reliable = params.server === 'lifeline-reliable'
    await client.request({ cmd: 'connect', url: `ws://${HOST}:${target.port}/?name=stalled`, hello: reliable ? HELLO : null }, 'stalled', 10_000)
    let socket = target.socket()
    if (socket === undefined) throw new Error('the stalled client never reached the server')
    let closedAt: number | null = null
    const closed = new Promise<void>((resolve) => socket?.once('close', () => resolve(void (closedAt = now()))))
    const chunk = chunks(params.chunkBytes)
    // The send path compiled and the reliable welcome's hello answered before the baseline.
    await sleep(100)
    const baseline = await collect()
    let peakJs = 0
    let peakRss = 0
    const sample = (): void => {
      ;(globalThis as { gc?: () => void }).gc?.()
      const m = process.memoryUsage()
      peakJs = Math.max(peakJs, jsBytes(m) - jsBytes(baseline))
      peakRss = Math.max(peakRss, m.rss - baseline.rss)
    }

    let sends = 0
    let accepted = 0
    let peakBuffered = 0
    let cappedAt: number | null = null
    let sampledDisconnect = false
    const start = now()
    let nextSample = start
    // Bounded by time and by the cap; the count bound (a send per microsecond) is only a backstop.
    const maxSends = Math.ceil(params.floodMs * 1_000)
    while (now() - start < params.floodMs && sends < maxSends) {
      if (target.send(chunk(sends))) accepted++
      sends++
      peakBuffered = Math.max(peakBuffered, socket.bufferedAmount)
      if (socket.bufferedAmount >= params.capBytes) {
        cappedAt = now() - start
        break
      }
      // Right after the disconnect (the socket still holds its bytes), then every 100 ms.
      const justLetGo: boolean = target.disconnect !== null && !sampledDisconnect
      if (justLetGo || now() >= nextSample) {
        sampledDisconnect ||= justLetGo
        sample()
        nextSample = now() + 100
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    const floodMs = now() - start
    sample()
    const finalBuffered = socket.bufferedAmount
    if (params.server !== 'ws') {
      // lifeline closes a slow consumer and terminates it after closeTimeout (1 s): wait for that,
      // then drop the bench's own reference, as an application drops a client at its disconnect.
      await orNull(closed, 5_000)
      socket = undefined
      target.forget()
    }
    const final = await collect()
    return {
      server: params.server,
      sends,
      accepted,
      floodMs,
      cappedAt,
      peakBufferedAmount: peakBuffered,
      finalBufferedAmount: finalBuffered,
      peakJsBytes: peakJs,
      peakRssBytes: peakRss,
      finalJsBytes: jsBytes(final) - jsBytes(baseline),
      finalRssBytes: final.rss - baseline.rss,
      letGoMs: target.disconnect === null ? null : target.disconnect.at - start,
      socketClosedMs: closedAt === null ? null : closedAt - start,
      disconnect: target.disconnect === null ? null : { code: target.disconnect.code, reason: target.disconnect.reason },
      errorCodes: [...new Set(target.errorCodes)],
      baseline,
      final,
    }
  } finally {
    client.kill()
    await orNull(target.stop(), 3_000)
  }
}

// Growth can come out a few KB below the baseline: that prints as 0.0, not -0.0.
const mib = (bytes: number): string => `${Math.abs(bytes) < 0.05 * MiB ? '0.0' : (bytes / MiB).toFixed(1)} MiB`
const OTHERS = 'n/a (client only)'

function cells(ws: Cell, lifeline: Cell): Partial<Record<PeerName, Cell>> {
  return Object.fromEntries(PEERS.map((p) => [p, p === 'ws' ? ws : p === 'lifeline' ? lifeline : cell(null, OTHERS)]))
}

export const slowConsumer: Scenario = {
  name: 'slow-consumer',
  title: 'Slow consumer (server)',
  async run({ quick, log }) {
    const size = (quick ? QUICK : FULL).slowConsumer
    const trials: Partial<Record<SlowServer, SlowConsumerTrial>> = {}
    const errors: string[] = []
    await each(SERVERS, quick, async (server) => {
      try {
        const params: SlowConsumerParams = { server, chunkBytes: size.chunkBytes, floodMs: size.floodMs, capBytes: size.capBytes }
        const trial = await runWorker<SlowConsumerTrial>({ scenario: 'slow-consumer', params }, 60_000)
        trials[server] = trial
        log(`  slow-consumer ${server}: peak buffered ${mib(trial.peakBufferedAmount)}, js +${mib(trial.peakJsBytes)} peak / +${mib(trial.finalJsBytes)} final, let go ${trial.letGoMs === null ? 'never' : `${Math.round(trial.letGoMs)} ms`} (${trial.disconnect?.reason ?? '-'})`)
      } catch (error) {
        errors.push(`${server}: ${String(error)}`)
      }
    })
    const bound = MAX_BUFFERED + size.chunkBytes + FRAMING
    const wsTrial = trials.ws
    const failed = cell(null, 'failed')
    const rows: Row[] = []
    for (const mode of ['plain', 'reliable'] as const) {
      const t = trials[`lifeline-${mode}`]
      const floor = (make: (w: SlowConsumerTrial) => Cell): Cell => (mode === 'reliable' ? cell(null, 'n/a (no reliable delivery)') : wsTrial === undefined ? failed : make(wsTrial))
      const ours = (make: (l: SlowConsumerTrial) => Cell): Cell => (t === undefined ? failed : make(t))
      const buffered = (x: SlowConsumerTrial): Cell => cell(x.peakBufferedAmount / MiB, `${mib(x.peakBufferedAmount)}${x.cappedAt === null ? '' : ` (cap, ${Math.round(x.cappedAt)} ms)`}`)
      const memory = (x: SlowConsumerTrial): Cell => cell(x.finalJsBytes / MiB, `${mib(x.peakJsBytes)} / ${mib(x.finalJsBytes)}`)
      const rss = (x: SlowConsumerTrial): Cell => cell(x.finalRssBytes / MiB, `${mib(x.peakRssBytes)} / ${mib(x.finalRssBytes)}`)
      rows.push(
        {
          metric: `${mode}: peak server bufferedAmount`,
          cells: cells(floor(buffered), ours(buffered)),
          bar: { text: `≤ maxBufferedBytes + one chunk (${mib(MAX_BUFFERED)} + ${size.chunkBytes / 1024} KiB)`, pass: t === undefined ? null : t.peakBufferedAmount <= bound },
        },
        {
          metric: `${mode}: heap + external growth after GC, peak / final${mode === 'plain' ? ' (ws: still holding the client)' : ''}`,
          cells: cells(floor(memory), ours(memory)),
          bar: { text: `final < 2 × maxBufferedBytes (${mib(2 * MAX_BUFFERED)})`, pass: t === undefined ? null : t.finalJsBytes < 2 * MAX_BUFFERED },
        },
        { metric: `${mode}: RSS growth, peak / final`, cells: cells(floor(rss), ours(rss)) },
        {
          metric: `${mode}: client let go after (disconnect event; reason, code; server socket closed)`,
          cells: cells(
            floor((w) => cell(null, `never (held ${mib(w.finalBufferedAmount)} at the end)`)),
            ours((l) => (l.letGoMs === null || l.disconnect === null ? cell(null, `never in ${Math.round(l.floodMs)} ms`) : cell(l.letGoMs, `${Math.round(l.letGoMs)} ms (${l.disconnect.reason}, ${l.disconnect.code}; closed at ${l.socketClosedMs === null ? 'never' : `${Math.round(l.socketClosedMs)} ms`})`))),
          ),
        },
      )
    }
    return {
      rows,
      notes: [
        `The server in a fresh process with --expose-gc, the client in another that pauses its TCP socket once connected (reliable: after hello and welcome). The server sends a new ${size.chunkBytes / 1024} KiB text message per turn of the event loop (setImmediate) for ${size.floodMs / 1_000} s, bare ws until it holds ${mib(size.capBytes)}; lifeline with default options (maxBufferedBytes 4 MiB, closeTimeout 1 s), so the application keeps calling send() after the client is gone. Memory is heapUsed + external (which includes arrayBuffers) and RSS, as growth over a baseline after GC: peak = the largest of samples taken after GC every 100 ms and right after the disconnect; final = after the flood, for lifeline once the server socket closed (it ignores the close handshake, so closeTimeout terminates it) and the bench dropped its reference to it; bare ws still holds the client then. Reliable delivery also keeps what the client never acknowledged, up to maxUnacknowledgedBytes (8 MiB by default), for a resume: its session fills while the client is away and ends once full, which is what its peak shows. The kernel's socket buffers (several MiB on loopback) are outside both processes and absorb the first part of the flood.`,
        ...errors,
      ],
      raw: { size, maxBufferedBytes: MAX_BUFFERED, bound, trials },
    }
  },
}
