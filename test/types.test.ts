import { describe, expectTypeOf, it } from 'vitest'
import WsWebSocket from 'ws'
import type { AnyActorRef } from 'xstate'
import {
  createConnection,
  type CloseInfo,
  type Connection,
  type ConnectionStateName,
  type FailedEvent,
  type HeartbeatEvent,
  type MessageData,
  type ReconnectEvent,
  type StateChange,
  type WebSocketConstructor,
} from '../src/index.node.js'
import type { ClientConnectionEvent, HeartbeatServer } from '../src/server/index.js'
import { FakeWebSocket } from './helpers/fake-websocket.js'

// Checked by the type checker (npm run typecheck, and under both TypeScript
// versions in a packed consumer: test/package.test.ts); at run time they only pass.

describe('public types', () => {
  it('createConnection returns a Connection', () => {
    expectTypeOf(createConnection).parameter(0).toHaveProperty('url')
    expectTypeOf(createConnection).returns.toEqualTypeOf<Connection>()
  })

  it('exposes the state as a closed union', () => {
    expectTypeOf<Connection['state']>().toEqualTypeOf<ConnectionStateName>()
    expectTypeOf<ConnectionStateName>().toEqualTypeOf<'idle' | 'connecting' | 'reauthorizing' | 'open' | 'closing' | 'backoff' | 'offline' | 'failed'>()
    expectTypeOf<Connection['actor']>().toMatchTypeOf<AnyActorRef>()
  })

  it('types each listener by its event', () => {
    // Checked by the type checker (npm run typecheck); never called.
    const listeners = (conn: Connection) => {
      conn.on('state', (e) => expectTypeOf(e).toEqualTypeOf<StateChange>())
      conn.on('message', (data) => expectTypeOf(data).toEqualTypeOf<MessageData>())
      conn.on('close', (close) => expectTypeOf(close).toEqualTypeOf<CloseInfo>())
      conn.on('heartbeat', (beat) => expectTypeOf(beat).toEqualTypeOf<HeartbeatEvent>())
      conn.on('reconnect', (r) => expectTypeOf(r).toEqualTypeOf<ReconnectEvent>())
      conn.on('failed', (f) => expectTypeOf(f).toEqualTypeOf<FailedEvent>())
      conn.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>())
      expectTypeOf(conn.on('open', () => {})).toEqualTypeOf<() => void>()
    }
    expectTypeOf(listeners).toBeFunction()
  })

  it('accepts false to turn parts off', () => {
    expectTypeOf(createConnection).toBeCallableWith({ url: 'ws://x', heartbeat: false, reconnect: false, buffer: false, network: false })
  })

  it('takes ws, the global WebSocket and a class built like them as they are', () => {
    expectTypeOf(WsWebSocket).toExtend<WebSocketConstructor>()
    expectTypeOf(globalThis.WebSocket).toExtend<WebSocketConstructor>()
    expectTypeOf(FakeWebSocket).toExtend<WebSocketConstructor>()
    expectTypeOf(createConnection).toBeCallableWith({ url: 'ws://x', WebSocket: WsWebSocket })
    expectTypeOf(createConnection).toBeCallableWith({ url: 'ws://x', WebSocket: globalThis.WebSocket })
  })

  it('refuses what is not a WebSocket constructor, and wrong options', () => {
    expectTypeOf(Map).not.toExtend<WebSocketConstructor>()
    // Never called: each line must be a type error, or the directive above it is one.
    const wrong = () => {
      // @ts-expect-error a number is no constructor
      createConnection({ url: 'ws://x', WebSocket: 42 })
      // @ts-expect-error heartbeat.interval is milliseconds, not a string
      createConnection({ url: 'ws://x', heartbeat: { interval: '5s' } })
      // @ts-expect-error no such option
      createConnection({ url: 'ws://x', heartbeet: false })
    }
    expectTypeOf(wrong).toBeFunction()
  })

  it('types message data as the runtime delivers it', () => {
    expectTypeOf<MessageData>().toEqualTypeOf<string | ArrayBuffer>()
  })

  it('gives the server\'s sockets the ws type', () => {
    expectTypeOf<ClientConnectionEvent['socket']>().toEqualTypeOf<WsWebSocket>()
    expectTypeOf<HeartbeatServer['clients']>().toEqualTypeOf<ReadonlyMap<string, WsWebSocket>>()
  })
})
