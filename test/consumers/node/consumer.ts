// A strict TypeScript consumer in Node (module: nodenext, no DOM library).
// Each `@ts-expect-error` must meet an error, or tsc reports the directive.
import WebSocket from 'ws'
import { createConnection, LifelineError, ReconnectingWebSocket, type MessageData, type WebSocketConstructor } from 'lifeline-ws'
import { createHeartbeatServer, type HeartbeatServer } from 'lifeline-ws/server'
import { connectionMachine, type ConnectionStateName } from 'lifeline-ws/machine'
import { redisCluster, type ServerCluster } from 'lifeline-ws/redis'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

// ws's default export is a WebSocket constructor as it is typed: no cast.
const conn = createConnection({ url: 'ws://127.0.0.1:8080/live', WebSocket })
const ws: WebSocketConstructor = WebSocket

// Message data is what the runtime delivers.
const exactMessage: Equal<MessageData, string | ArrayBuffer> = true
conn.on('message', (data) => {
  const text: string = typeof data === 'string' ? data : new TextDecoder().decode(data)
  console.log(text)
})
conn.on('error', (error) => {
  if (error instanceof LifelineError && error.code === 'LIFELINE_SOCKET_ERROR') console.log(error.cause)
})
const state: ConnectionStateName = conn.state

// The server's sockets are ws's WebSocket, not `any`, though lib checks are skipped.
const server: HeartbeatServer = createHeartbeatServer({ port: 0, path: '/live' })
server.on('connection', ({ socket, name }) => {
  const real: WebSocket = socket
  real.ping()
  // @ts-expect-error a ws socket has no such method (it would be allowed on `any`)
  socket.noSuchMethod()
  console.log(name)
})
const exactClients: Equal<HeartbeatServer['clients'], ReadonlyMap<string, WebSocket>> = true

// The drop-in is typed without the DOM library too: its events are Node's.
const dropIn = new ReconnectingWebSocket('ws://127.0.0.1:8080/live', undefined, { autoConnect: false, WebSocket })
dropIn.onmessage = (event) => console.log(event.data)
dropIn.addEventListener('close', (event) => console.log(event.code, event.reason, event.wasClean))
const ready: 0 | 1 | 2 | 3 = dropIn.readyState
// @ts-expect-error binaryType is 'blob' or 'arraybuffer'
dropIn.binaryType = 'nodebuffer'

// Wrong options are type errors.
// @ts-expect-error heartbeat.interval is milliseconds, not a string
createConnection({ url: 'ws://x', heartbeat: { interval: '5s' } })
// @ts-expect-error no such option
createConnection({ url: 'ws://x', heartbeet: false })
// @ts-expect-error a Map is no WebSocket constructor
createConnection({ url: 'ws://x', WebSocket: Map })
// @ts-expect-error duplicate is 'replace' or 'reject'
createHeartbeatServer({ port: 0, duplicate: 'kick' })

// Several processes as one: the cluster option takes what redisCluster() returns (ioredis is a peer dependency).
const cluster: ServerCluster = redisCluster({ url: 'redis://127.0.0.1:6379', prefix: 'myapp' })
createHeartbeatServer({ port: 0, cluster, delivery: 'reliable', identify: () => 'alice' })
// @ts-expect-error beatInterval is milliseconds
redisCluster({ beatInterval: 'often' })

export { conn, ws, exactMessage, state, exactClients, connectionMachine, ready }
