// A server holding thousands of idle clients, in its own process (run with
// --expose-gc), measured for heap and heartbeat CPU. argv: kind.
// - ws: a bare WebSocketServer with the ping/terminate loop of the ws README
//   ("How to detect and close broken connections?"), at a 1 s sweep
// - lifeline: createHeartbeatServer({ heartbeat: { interval: 1000, timeout: 1000 } }),
//   compiled as users run it (bench/build.ts)
// - socketio: socket.io's Server, websocket transport, pingInterval and pingTimeout 1 s
// Each does nothing else with its clients: what is measured is what holding
// and watching them costs.
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { Server as SocketIoServer } from 'socket.io'
import WebSocket, { WebSocketServer } from 'ws'
import { BUILT } from '../build.js'
import { dieWithParent, reply } from '../child.js'
import { collect } from '../scenarios/memory.js'
import { COMMON, HOST } from '../settings.js'

export type ScaleServerKind = 'ws' | 'lifeline' | 'socketio'

type Helper = typeof import('../../src/server/index.js')

interface Running {
  port: number
  clients(): number
}

type Alive = WebSocket & { isAlive?: boolean }

function heartbeat(this: Alive): void {
  this.isAlive = true
}

function startWs(): Promise<Running> {
  const wss = new WebSocketServer({ host: HOST, port: 0 })
  wss.on('connection', (ws: Alive) => {
    ws.isAlive = true
    ws.on('error', console.error)
    ws.on('pong', heartbeat)
  })
  const interval = setInterval(() => {
    wss.clients.forEach((ws: Alive) => {
      if (ws.isAlive === false) return ws.terminate()
      ws.isAlive = false
      ws.ping()
    })
  }, COMMON.heartbeatInterval)
  wss.on('close', () => clearInterval(interval))
  return new Promise((resolve, reject) => {
    wss.once('error', reject)
    wss.once('listening', () => resolve({ port: (wss.address() as { port: number }).port, clients: () => wss.clients.size }))
  })
}

async function startLifeline(): Promise<Running> {
  const { createHeartbeatServer } = (await import(pathToFileURL(BUILT.server).href)) as Helper
  const server = createHeartbeatServer({ port: 0, host: HOST, heartbeat: { interval: COMMON.heartbeatInterval, timeout: COMMON.heartbeatTimeout } })
  server.on('error', () => {})
  const { port } = await server.listening
  return { port, clients: () => server.clients.size }
}

function startSocketIo(): Promise<Running> {
  const http = createServer()
  const io = new SocketIoServer(http, {
    transports: ['websocket'],
    serveClient: false,
    pingInterval: COMMON.heartbeatInterval,
    pingTimeout: COMMON.heartbeatTimeout,
  })
  return new Promise((resolve, reject) => {
    http.once('error', reject)
    http.listen(0, HOST, () => resolve({ port: (http.address() as { port: number }).port, clients: () => io.engine.clientsCount }))
  })
}

dieWithParent()
const kind = process.argv[2] as ScaleServerKind
const start = { ws: startWs, lifeline: startLifeline, socketio: startSocketIo }[kind]
if (start === undefined) throw new Error(`unknown scale server kind ${kind}`)
let running: Running | undefined

process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'listen') {
    start().then(
      (server) => {
        running = server
        reply({ ev: 'listening', port: server.port })
      },
      (error: unknown) => reply({ ev: 'error', message: `scale server ${kind} could not listen: ${String(error)}` }),
    )
  } else if (message.cmd === 'heap') {
    collect().then(
      (memory) => reply({ ev: 'heap', heapUsed: memory.heapUsed, clients: running?.clients() ?? 0 }),
      (error: unknown) => reply({ ev: 'error', message: String(error) }),
    )
  } else if (message.cmd === 'cpu') {
    const cpu = process.cpuUsage()
    reply({ ev: 'cpu', cpuMicros: cpu.user + cpu.system, clients: running?.clients() ?? 0 })
  }
})
reply({ ev: 'ready' })
