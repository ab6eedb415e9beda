import { TestClock } from './test-clock.js'
import { createConnection, createManualEnvironment } from '../../src/index.node.js'
import type { Connection, ConnectionEventMap, ConnectionOptions } from '../../src/index.node.js'
import { FakeWebSocket, TestNetwork } from './fake-websocket.js'

export type Recorded = { [K in keyof ConnectionEventMap]: [K, ConnectionEventMap[K]] }[keyof ConnectionEventMap]

const EVENT_TYPES = ['state', 'open', 'message', 'close', 'error', 'heartbeat', 'reconnect', 'failed'] as const

/** A connection wired to fake sockets, a test network and a simulated clock, recording every event. */
export function harness(options: Partial<ConnectionOptions> = {}) {
  FakeWebSocket.reset()
  const clock = new TestClock()
  const network = new TestNetwork()
  const environment = createManualEnvironment()
  const conn: Connection = createConnection({
    url: 'ws://test.invalid/socket',
    WebSocket: FakeWebSocket,
    network,
    environment,
    clock,
    autoConnect: false,
    ...options,
  })
  const events: Recorded[] = []
  for (const type of EVENT_TYPES) conn.on(type, (event) => events.push([type, event] as Recorded))
  const of = <K extends keyof ConnectionEventMap>(type: K): ConnectionEventMap[K][] =>
    events.filter((e): e is Extract<Recorded, [K, unknown]> => e[0] === type).map((e) => e[1] as ConnectionEventMap[K])
  const value = () => conn.actor.getSnapshot().value as unknown
  return { conn, clock, network, environment, events, of, value, sockets: FakeWebSocket }
}
