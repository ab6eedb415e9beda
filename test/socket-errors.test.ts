/**
 * One error vocabulary: whatever the WebSocket implementation reports, the
 * `error` event carries `LIFELINE_SOCKET_ERROR`, with what the platform gave
 * as `cause`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection, LifelineError, type Connection } from '../src/index.node.js'
import { FakeWebSocket } from './helpers/fake-websocket.js'
import { closedPort, until } from './helpers/servers.js'

const connections: Connection[] = []
afterEach(() => {
  for (const conn of connections.splice(0)) conn.dispose()
})

function errorsOf(conn: Connection): Error[] {
  connections.push(conn)
  const errors: Error[] = []
  conn.on('error', (error) => errors.push(error))
  return errors
}

describe('socket errors', () => {
  it('reports a refused connection in Node (ws) as LIFELINE_SOCKET_ERROR with the errno error as cause', async () => {
    const port = await closedPort()
    const conn = createConnection({ url: `ws://127.0.0.1:${port}/`, reconnect: false, network: false })
    const errors = errorsOf(conn)
    await until(() => conn.state === 'failed', 5_000, 'the refused attempt')
    expect(errors).toHaveLength(1)
    const [error] = errors
    expect(error).toBeInstanceOf(LifelineError)
    expect(error).toMatchObject({ code: 'LIFELINE_SOCKET_ERROR', message: expect.stringMatching(/^WebSocket error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/) })
    expect(error!.cause).toMatchObject({ code: 'ECONNREFUSED' })
  })

  it("reports a browser's bare error event the same way, the event as cause", () => {
    const conn = createConnection({ url: 'ws://test.invalid/', WebSocket: FakeWebSocket, network: false, environment: false })
    const errors = errorsOf(conn)
    const event = new Event('error')
    FakeWebSocket.last.dispatchEvent(event)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'LIFELINE_SOCKET_ERROR', message: 'WebSocket error' })
    expect(errors[0]!.cause).toBe(event)
  })

  it("takes an ErrorEvent's error as cause (ws's addEventListener, Node 22's WebSocket)", () => {
    const conn = createConnection({ url: 'ws://test.invalid/', WebSocket: FakeWebSocket, network: false, environment: false })
    const errors = errorsOf(conn)
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND test.invalid'), { code: 'ENOTFOUND' })
    FakeWebSocket.last.dispatchEvent(Object.assign(new Event('error'), { error: cause, message: cause.message }))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'LIFELINE_SOCKET_ERROR', message: 'WebSocket error: getaddrinfo ENOTFOUND test.invalid' })
    expect(errors[0]!.cause).toBe(cause)
  })
})
