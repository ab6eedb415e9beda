import { describe, expectTypeOf, it } from 'vitest'
import { ReconnectingWebSocket, type CloseInfo, type Connection, type ConnectionStateName, type MessageData, type StateChange } from '../../src/index.js'
import { useConnection, useConnectionEvent, useConnectionState, type UseConnectionOptions } from '../../src/react/index.js'

// Checked by the type checker (npm run typecheck); at run time these only pass.
// The hooks are never called here: that needs a component (test/browser/react.test.ts).

describe('lifeline-ws/react types', () => {
  it('useConnection takes options or null and gives a Connection or null', () => {
    expectTypeOf(useConnection).parameter(0).toEqualTypeOf<Parameters<typeof useConnection>[0]>()
    expectTypeOf(useConnection).returns.toEqualTypeOf<Connection | null>()
    expectTypeOf<null>().toMatchTypeOf<Parameters<typeof useConnection>[0]>()
    expectTypeOf<{ url: string }>().toMatchTypeOf<Parameters<typeof useConnection>[0]>()
    // @ts-expect-error a url is required
    expectTypeOf<{ heartbeat: false }>().toMatchTypeOf<Parameters<typeof useConnection>[0]>()
  })

  it('useConnection takes an optional string key that says which components share', () => {
    expectTypeOf(useConnection).parameter(1).toEqualTypeOf<UseConnectionOptions | undefined>()
    expectTypeOf<{ key: 'room-1' }>().toMatchTypeOf<UseConnectionOptions>()
    // @ts-expect-error the key is a string
    expectTypeOf<{ key: 1 }>().toMatchTypeOf<UseConnectionOptions>()
  })

  it('useConnectionState gives the state, or null for no connection', () => {
    const typed = (connection: Connection, maybe: Connection | null) => {
      expectTypeOf(useConnectionState(connection)).toEqualTypeOf<ConnectionStateName>()
      expectTypeOf(useConnectionState(maybe)).toEqualTypeOf<ConnectionStateName | null>()
    }
    expectTypeOf(typed).toBeFunction()
  })

  it('useConnectionEvent types each listener by its event and refuses unknown events', () => {
    const typed = (connection: Connection | null) => {
      useConnectionEvent(connection, 'message', (data) => expectTypeOf(data).toEqualTypeOf<MessageData>())
      useConnectionEvent(connection, 'state', (change) => expectTypeOf(change).toEqualTypeOf<StateChange>())
      useConnectionEvent(connection, 'close', (close) => expectTypeOf(close).toEqualTypeOf<CloseInfo>())
      // @ts-expect-error no such event
      useConnectionEvent(connection, 'messages', () => {})
      // @ts-expect-error a message listener gets the data, not a state change
      useConnectionEvent(connection, 'message', (change: StateChange) => change)
    }
    expectTypeOf(typed).toBeFunction()
  })
})

describe('ReconnectingWebSocket types', () => {
  it('fits where a WebSocket is expected', () => {
    const asWebSocket = (ws: ReconnectingWebSocket): WebSocket => ws
    expectTypeOf(asWebSocket).toBeFunction()
    expectTypeOf(ReconnectingWebSocket.OPEN).toEqualTypeOf<1>()
  })

  it('types its events as WebSocket does', () => {
    const typed = (ws: ReconnectingWebSocket) => {
      ws.addEventListener('close', (e) => expectTypeOf(e.code).toEqualTypeOf<number>())
      ws.addEventListener('message', (e) => expectTypeOf(e).toMatchTypeOf<MessageEvent>())
      ws.onclose = (e: CloseEvent) => e.wasClean
      ws.onmessage = (e: MessageEvent<string>) => e.data.length
      ws.send(new Uint8Array(1))
      ws.binaryType = 'arraybuffer'
      // @ts-expect-error binaryType is 'blob' or 'arraybuffer'
      ws.binaryType = 'nodebuffer'
    }
    expectTypeOf(typed).toBeFunction()
  })
})
