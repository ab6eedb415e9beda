import { describe, expectTypeOf, it } from 'vitest'
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
} from '../src/index.node.js'

describe('public types', () => {
  it('createConnection returns a Connection', () => {
    expectTypeOf(createConnection).parameter(0).toHaveProperty('url')
    expectTypeOf(createConnection).returns.toEqualTypeOf<Connection>()
  })

  it('exposes the state as a closed union', () => {
    expectTypeOf<Connection['state']>().toEqualTypeOf<ConnectionStateName>()
    expectTypeOf<ConnectionStateName>().toEqualTypeOf<'idle' | 'connecting' | 'open' | 'closing' | 'backoff' | 'offline' | 'failed'>()
    expectTypeOf<Connection['actor']>().toMatchTypeOf<AnyActorRef>()
  })

  it('types each listener by its event', () => {
    const conn = {} as Connection
    expectTypeOf(conn.on).toBeCallableWith('state', (e: StateChange) => void e)
    expectTypeOf(conn.on).toBeCallableWith('message', (data: MessageData) => void data)
    expectTypeOf(conn.on).toBeCallableWith('close', (close: CloseInfo) => void close)
    expectTypeOf(conn.on).toBeCallableWith('heartbeat', (beat: HeartbeatEvent) => void beat)
    expectTypeOf(conn.on).toBeCallableWith('reconnect', (r: ReconnectEvent) => void r)
    expectTypeOf(conn.on).toBeCallableWith('failed', (f: FailedEvent) => void f)
    expectTypeOf(conn.on('open', () => {})).toEqualTypeOf<() => void>()
  })

  it('accepts false to turn parts off', () => {
    expectTypeOf(createConnection).toBeCallableWith({ url: 'ws://x', heartbeat: false, reconnect: false, buffer: false, network: false })
  })
})
