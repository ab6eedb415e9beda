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
})
