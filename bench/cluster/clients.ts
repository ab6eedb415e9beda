// A set of clients of the cluster scenario, in its own process: lifeline's
// createConnection (plain, or delivery: 'reliable') or socket.io-client
// (websocket transport only), each named in its URL. It records when latency
// probes arrive (on the clock the nodes stamp them with) and follows a
// broadcast run: each client's next index, duplicates and gaps, and when the
// last client got the last message.
//
// Commands: connect, close, latencies, fan-out, report, clock (see serve()). While a
// fan-out runs it tells the scenario, unasked, how far its slowest client
// got ('progress'), and once every client got everything ('fan-out').
import { pathToFileURL } from 'node:url'
import { io } from 'socket.io-client'
import { BUILT } from '../build.js'
import { reply } from '../child.js'
import { HOST } from '../settings.js'
import { orNull, sleep } from '../util.js'
import { broadcastIndex, clock, ms, readProbe, serve, type Dial, type FanOutReport } from './protocol.js'

type Lifeline = typeof import('../../src/index.node.js')
const { createConnection } = (await import(pathToFileURL(BUILT.client).href)) as Lifeline

export type ClientsCommand =
  | { cmd: 'connect'; dial: Dial }
  | { cmd: 'close' }
  | { cmd: 'latencies'; count: number; warmup: number; waitMs: number }
  | { cmd: 'fan-out'; run: number; count: number }
  | { cmd: 'report'; run: number }

interface Client {
  name: string
  /** The next broadcast index this client expects. */
  next: number
  open: boolean
  close(): void
}

let clients: Client[] = []
let drops = 0

// Latency probes: arrival minus the stamp, in ms, by index.
let probes = new Map<number, number>()
let probeWaiter: (() => void) | undefined
let probesWanted = Infinity

// The broadcast run being followed.
let run = -1
let total = 0
let fan: FanOutReport = emptyReport()
let reported = 0
let progressScheduled = false

function emptyReport(): FanOutReport {
  return { deliveries: 0, duplicates: 0, outOfOrder: 0, finished: 0, lastAt: null, drops: 0 }
}

function received(client: Client, text: string): void {
  const at = clock()
  const latency = readProbe(text)
  if (latency !== undefined) {
    if (probes.size < 100_000) probes.set(latency.index, ms(at - latency.sentAt))
    if (probes.size >= probesWanted) probeWaiter?.()
    return
  }
  const index = broadcastIndex(text)
  if (index < 0 || run < 0) return
  fan.deliveries++
  if (index < client.next) fan.duplicates++
  else {
    if (index > client.next) fan.outOfOrder++
    client.next = index + 1
    if (client.next === total) {
      fan.finished++
      fan.lastAt = at
      if (fan.finished === clients.length) reply({ ev: 'fan-out', run, report: { ...fan, drops } })
    }
  }
  // Once per turn of the event loop, not per message: how far the slowest client got.
  if (!progressScheduled) {
    progressScheduled = true
    setImmediate(reportProgress)
  }
}

function reportProgress(): void {
  progressScheduled = false
  let slowest = Infinity
  for (const client of clients) slowest = Math.min(slowest, client.next)
  if (slowest > reported && slowest !== Infinity) {
    reported = slowest
    reply({ ev: 'progress', run, upTo: slowest })
  }
}

/** A client of this set: `up` when its socket opens (it counts toward the set being open), `down` when it closes (a drop, if it was open). */
function newClient(name: string, close: () => void, opened: () => void): { client: Client; up: () => void; down: () => void } {
  const client: Client = { name, next: 0, open: false, close }
  const up = (): void => {
    client.open = true
    opened()
  }
  const down = (): void => {
    if (client.open) drops++
    client.open = false
  }
  return { client, up, down }
}

function connectLifeline(name: string, port: number, reliable: boolean, opened: () => void): Client {
  const conn = createConnection({ url: `ws://${HOST}:${port}/?name=${encodeURIComponent(name)}`, delivery: reliable ? 'reliable' : 'plain' })
  const { client, up, down } = newClient(name, () => conn.dispose(), opened)
  conn.on('open', up)
  conn.on('close', down)
  conn.on('message', (data) => typeof data === 'string' && received(client, data))
  conn.on('error', () => {})
  return client
}

function connectSocketIo(name: string, port: number, opened: () => void): Client {
  // forceNew: one engine per client, as separate users would have.
  const socket = io(`http://${HOST}:${port}`, { transports: ['websocket'], forceNew: true, query: { name } })
  const { client, up, down } = newClient(name, () => void socket.disconnect(), opened)
  socket.on('connect', up)
  socket.on('disconnect', down)
  socket.on('message', (data: unknown) => typeof data === 'string' && received(client, data))
  return client
}

async function connect(dial: Dial): Promise<void> {
  if (clients.length > 0) throw new Error('clients are connected already')
  drops = 0
  let open = 0
  let all!: () => void
  const everyone = new Promise<void>((resolve) => (all = resolve))
  const opened = (): void => void (++open >= dial.clients.length && all())
  for (const { name, port } of dial.clients) {
    clients.push(dial.system === 'socket.io' ? connectSocketIo(name, port, opened) : connectLifeline(name, port, dial.system === 'lifeline-reliable', opened))
  }
  if ((await orNull(everyone, 30_000)) === null) throw new Error(`${open} of ${dial.clients.length} ${dial.system} clients opened within 30 s`)
}

async function handle(command: ClientsCommand): Promise<void> {
  switch (command.cmd) {
    case 'connect':
      await connect(command.dial)
      return reply({ ev: 'connected' })
    case 'close': {
      for (const client of clients) {
        client.open = false
        client.close()
      }
      clients = []
      run = -1
      probes = new Map()
      // Lets the close handshakes go out before the servers stop.
      await sleep(100)
      globalThis.gc?.()
      return reply({ ev: 'closed' })
    }
    case 'latencies': {
      probesWanted = command.count
      const arrived = new Promise<void>((resolve) => (probeWaiter = resolve))
      if (probes.size < command.count) await orNull(arrived, command.waitMs)
      probeWaiter = undefined
      probesWanted = Infinity
      const samples: number[] = []
      for (let i = command.warmup; i < command.count; i++) {
        const latency = probes.get(i)
        if (latency !== undefined) samples.push(latency)
      }
      const got = probes.size
      probes = new Map()
      return reply({ ev: 'latencies', samples, received: got, drops })
    }
    case 'fan-out':
      run = command.run
      total = command.count
      fan = emptyReport()
      reported = 0
      for (const client of clients) client.next = 0
      return reply({ ev: 'armed' })
    case 'report':
      return reply({ ev: 'report', run: command.run, report: { ...fan, drops } })
  }
}

serve('cluster clients', handle)
