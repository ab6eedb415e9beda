import type WebSocket from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { CLOSE_REPLACED } from '../../src/server/index.js'
import { cleanup, closeOf, connect, delay, inbox, nextEvent, record, refusedUpgrade, startServer, waitFor } from './helpers.js'

afterEach(cleanup)

/** Connects a client and returns it with the server's socket for it. */
async function join(started: Awaited<ReturnType<typeof startServer>>, name: string): Promise<{ client: WebSocket; peer: WebSocket }> {
  const connection = nextEvent(started.server, 'connection', (e) => e.name === name)
  const client = await connect(started.url('/', name))
  return { client, peer: (await connection).socket }
}

describe('heartbeat server registry', () => {
  it('registers a client under its name and removes it exactly once when it closes', async () => {
    const started = await startServer()
    const disconnects = record(started.server, 'disconnect')
    const { client, peer } = await join(started, 'alice')
    expect(started.server.clients.get('alice')).toBe(peer)
    client.close(1000, 'bye')
    await waitFor(() => disconnects.length > 0, 2_000, 'the disconnect')
    await delay(20)
    expect(disconnects).toEqual([{ name: 'alice', socket: peer, code: 1000, reason: 'closed' }])
    expect(started.server.clients.size).toBe(0)
  })

  it('replaces an older connection under the same name, closing it with 4409', async () => {
    const started = await startServer()
    const events: string[] = []
    started.server.on('connection', (e) => events.push(`connection ${e.name} ${started.server.clients.get(e.name) === e.socket}`))
    started.server.on('disconnect', (e) => events.push(`disconnect ${e.name} ${e.reason} ${e.code}`))
    const first = await join(started, 'bob')
    const firstClosed = closeOf(first.client)
    const second = await join(started, 'bob')
    expect(await firstClosed).toEqual({ code: CLOSE_REPLACED, reason: 'replaced' })
    expect(started.server.clients.get('bob')).toBe(second.peer)
    expect(started.server.clients.size).toBe(1)
    expect(events).toEqual(['connection bob true', 'disconnect bob replaced 4409', 'connection bob true'])
  })

  it('does not let a replaced socket that closes late evict its successor', async () => {
    const started = await startServer({ closeTimeout: 100 })
    const first = await join(started, 'carol')
    // Paused, the first client never answers the server's close frame: its
    // socket lingers until closeTimeout terminates it, after the replacement.
    const paused = (first.client as unknown as { _socket: { pause(): void; resume(): void } })._socket
    paused.pause()
    const lateClose = new Promise<void>((resolve) => first.peer.once('close', () => resolve()))
    const second = await join(started, 'carol')
    expect(first.peer.readyState).toBe(first.peer.CLOSING)
    await lateClose
    expect(started.server.clients.get('carol')).toBe(second.peer)
    const messages = nextEvent(started.server, 'message')
    second.client.send('still here')
    expect(await messages).toMatchObject({ name: 'carol', data: 'still here', socket: second.peer })
    paused.resume()
  })

  it('drops frames from a replaced socket', async () => {
    const started = await startServer({ closeTimeout: 100 })
    const messages = record(started.server, 'message')
    const first = await join(started, 'dan')
    await join(started, 'dan')
    if (first.client.readyState === first.client.OPEN) first.client.send('from the past')
    await delay(30)
    expect(messages).toEqual([])
  })

  it('refuses a second connection under a connected name with 409 when duplicate is reject', async () => {
    const started = await startServer({ duplicate: 'reject' })
    const first = await join(started, 'erin')
    const answer = await refusedUpgrade(started.port, '/?name=erin')
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 409 Conflict')
    expect(started.server.clients.get('erin')).toBe(first.peer)
    const gone = nextEvent(started.server, 'disconnect')
    first.client.close()
    await gone
    await join(started, 'erin')
  })

  it('exposes clients as a read-only, live view', async () => {
    const started = await startServer()
    const { peer } = await join(started, 'fay')
    const clients = started.server.clients
    expect('set' in clients || 'delete' in clients || 'clear' in clients).toBe(false)
    expect([...clients]).toEqual([['fay', peer]])
    expect([...clients.entries()]).toEqual([['fay', peer]])
    expect([...clients.values()]).toEqual([peer])
    const seen: string[] = []
    clients.forEach((_socket, name) => seen.push(name))
    expect(seen).toEqual(['fay'])
    await join(started, 'gus')
    expect(clients.size).toBe(2)
  })
})

describe('heartbeat server messaging', () => {
  it('sends to one client by name and reports false for an unknown or closed one', async () => {
    const started = await startServer()
    const { client } = await join(started, 'hal')
    const received = inbox(client)
    expect(started.server.send('hal', 'hello')).toBe(true)
    expect(started.server.send('nobody', 'hello')).toBe(false)
    await waitFor(() => received.length === 1, 1_000, 'the message')
    expect(received).toEqual(['hello'])
    const gone = nextEvent(started.server, 'disconnect')
    client.close()
    await gone
    expect(started.server.send('hal', 'late')).toBe(false)
  })

  it('broadcasts to every open client, or those the filter accepts, and counts them', async () => {
    const started = await startServer()
    const a = inbox((await join(started, 'a')).client)
    const b = inbox((await join(started, 'b')).client)
    expect(started.server.broadcast(Buffer.from('all'))).toBe(2)
    expect(started.server.broadcast('only b', (name) => name === 'b')).toBe(1)
    await waitFor(() => a.length === 1 && b.length === 2, 1_000, 'the broadcasts')
    expect(b).toEqual(['all', 'only b'])
  })

  it('delivers text frames as strings and binary frames as Buffers', async () => {
    const started = await startServer()
    const { client } = await join(started, 'ivy')
    const messages = record(started.server, 'message')
    client.send('text')
    client.send(Buffer.from([1, 2, 3]))
    await waitFor(() => messages.length === 2, 1_000, 'both frames')
    expect(messages[0]?.data).toBe('text')
    expect(Buffer.isBuffer(messages[1]?.data) && [...(messages[1]?.data as Buffer)]).toEqual([1, 2, 3])
  })

  it('throws a TypeError with a code for data it cannot send and for bad listeners', async () => {
    const { server } = await startServer()
    expect(() => server.send('x', 42 as unknown as string)).toThrow(expect.objectContaining({
      code: 'LIFELINE_INVALID_ARGUMENT',
      message: 'send() expects a string, Buffer, ArrayBuffer or typed array, got 42',
    }))
    expect(() => server.on('mesage' as 'message', () => {})).toThrow(/on\(\) event type must be one of connection, message, disconnect, error, session-lost, got "mesage"/)
    expect(() => server.on('message', null as unknown as () => void)).toThrow(/on\('message'\) expects a listener function, got null/)
  })
})
