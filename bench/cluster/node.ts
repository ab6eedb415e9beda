// One server node of the cluster scenario, in its own process: lifeline's
// server with redisCluster() (plain or reliable delivery), or socket.io with
// @socket.io/redis-adapter. It starts and stops a server on command, so one
// process serves every system and phase, each phase under a fresh Redis
// prefix (nothing one phase left in Redis reaches the next).
//
// Commands: start, stop, latency (send probes to a name, one every gapMs),
// broadcast + credit (broadcast numbered messages, never past the credit
// the scenario grants from what the slowest client received), and clock (see serve()).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'
import { BUILT } from '../build.js'
import { reply } from '../child.js'
import { HOST } from '../settings.js'
import { sleep } from '../util.js'
import { broadcastMessage, clock, probe, serve, type ClusterSystem } from './protocol.js'

type Helper = typeof import('../../src/server/index.js')
type Cluster = typeof import('../../src/redis/index.js')
// The working tree compiled by tsc, as users run it (see bench/build.ts).
const { createHeartbeatServer, nameFromQuery } = (await import(pathToFileURL(BUILT.server).href)) as Helper
const { redisCluster } = (await import(pathToFileURL(BUILT.redis).href)) as Cluster

/** A running server of one system. */
interface Node {
  port: number
  /** `false` when the system said it could not take the message. */
  send(name: string, data: string): boolean
  broadcast(data: string): void
  close(): Promise<void>
}

export type NodeCommand =
  | { cmd: 'start'; system: ClusterSystem; redis: string; prefix: string }
  | { cmd: 'stop' }
  | { cmd: 'latency'; name: string; count: number; gapMs: number }
  | { cmd: 'broadcast'; count: number; credit: number }
  | { cmd: 'credit'; upTo: number }

// Error codes the server reported during the phase, counted (as many keys as there are codes).
const errors: Record<string, number> = {}
const count = (code: string): void => void (errors[code] = (errors[code] ?? 0) + 1)

async function startLifeline(redis: string, prefix: string, reliable: boolean): Promise<Node> {
  const server = createHeartbeatServer({
    port: 0,
    host: HOST,
    identify: nameFromQuery,
    delivery: reliable ? 'reliable' : 'plain',
    cluster: redisCluster({ url: redis, prefix }),
  })
  server.on('error', (error) => count(error.code))
  // Resolves once the node listens and has joined the cluster (subscribed).
  const { port } = await server.listening
  return {
    port,
    send: (name, data) => server.send(name, data),
    broadcast: (data) => void server.broadcast(data),
    close: () => server.close(),
  }
}

async function startSocketIo(redis: string, prefix: string): Promise<Node> {
  const pub = new Redis(redis, { lazyConnect: true })
  const sub = pub.duplicate()
  for (const client of [pub, sub]) client.on('error', () => count('REDIS_ERROR'))
  await Promise.all([pub.connect(), sub.connect()])
  const http = createServer()
  const io = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub, { key: prefix }) })
  // The adapter subscribed when the namespace was made; a PING on the same connection answers after that.
  await sub.ping()
  // A room per client name: io.to(name) is the counterpart of lifeline's send(name).
  io.on('connection', (socket) => {
    const name = socket.handshake.query.name
    if (typeof name === 'string') void socket.join(name)
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(0, HOST, () => resolve())
  })
  return {
    port: (http.address() as AddressInfo).port,
    send: (name, data) => {
      io.to(name).emit('message', data)
      return true
    },
    broadcast: (data) => void io.emit('message', data),
    close: async () => {
      await io.close()
      pub.disconnect()
      sub.disconnect()
    },
  }
}

let node: Node | undefined
let fanOut: { count: number; sent: number } | undefined

function running(): Node {
  if (node === undefined) throw new Error('no server is running on this node')
  return node
}

/** Broadcasts the next messages, up to `upTo` (and the run's count). */
function broadcastUpTo(upTo: number): void {
  if (fanOut === undefined) return
  const server = running()
  const end = Math.min(upTo, fanOut.count)
  while (fanOut.sent < end) server.broadcast(broadcastMessage(fanOut.sent++))
}

async function handle(command: NodeCommand): Promise<void> {
  switch (command.cmd) {
    case 'start': {
      if (node !== undefined) throw new Error('a server is running already')
      for (const code of Object.keys(errors)) delete errors[code]
      node = command.system === 'socket.io'
        ? await startSocketIo(command.redis, command.prefix)
        : await startLifeline(command.redis, command.prefix, command.system === 'lifeline-reliable')
      return reply({ ev: 'listening', port: node.port })
    }
    case 'stop': {
      const stopping = node
      node = undefined
      fanOut = undefined
      await stopping?.close()
      globalThis.gc?.()
      return reply({ ev: 'stopped', errors: { ...errors } })
    }
    case 'latency': {
      const server = running()
      let refused = 0
      for (let i = 0; i < command.count; i++) {
        if (!server.send(command.name, probe(i, clock()))) refused++
        await sleep(command.gapMs)
      }
      return reply({ ev: 'sent', refused })
    }
    case 'broadcast': {
      running()
      fanOut = { count: command.count, sent: 0 }
      const startedAt = clock()
      broadcastUpTo(command.credit)
      return reply({ ev: 'broadcasting', startedAt })
    }
    case 'credit':
      return broadcastUpTo(command.upTo)
  }
}

serve('cluster node', handle)
