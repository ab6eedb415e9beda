import { createServer, get, type Server } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { createHeartbeatServer } from '../../src/server/index.js'
import {
  clientFrame,
  closeCodeIn,
  cleanup,
  closeOf,
  connect,
  nextEvent,
  rawWebSocket,
  readAll,
  record,
  refusedUpgrade,
  startServer,
  track,
  waitFor,
  within,
} from './helpers.js'

afterEach(async () => {
  vi.restoreAllMocks()
  await cleanup()
})

function httpGet(port: number, path: string): Promise<{ status: number | undefined; body: string }> {
  return within(new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({ status: response.statusCode, body }))
    }).on('error', reject)
  }), 2_000, `GET ${path}`)
}

async function startHttp(): Promise<{ http: Server; port: number }> {
  const http = createServer((_request, response) => response.end('app route'))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  track(() => new Promise((resolve) => http.close(resolve)))
  const address = http.address()
  return { http, port: typeof address === 'object' && address !== null ? address.port : 0 }
}

describe('heartbeat server: bad input', () => {
  it('closes a client that sends invalid UTF-8 with 1007 and reports it once', async () => {
    const { server, port } = await startServer({ closeTimeout: 100 })
    const errors = record(server, 'error')
    const disconnects = record(server, 'disconnect')
    const socket = await rawWebSocket(port, '/?name=garbled')
    const bytes = readAll(socket)
    socket.write(clientFrame(0x1, Buffer.from([0xc3, 0x28, 0xff])))
    expect(closeCodeIn(await bytes)).toBe(1007)
    await waitFor(() => disconnects.length === 1, 1_000, 'the disconnect')
    expect(disconnects[0]).toMatchObject({ name: 'garbled', reason: 'error', code: 1007 })
    expect(errors.map((e) => [e.code, e.client])).toEqual([['LIFELINE_SOCKET_ERROR', 'garbled']])
    expect(server.clients.size).toBe(0)
    await connect(`ws://127.0.0.1:${port}/?name=next`)
  })

  it('closes a client whose frame exceeds maxPayload with 1009', async () => {
    const { server, url } = await startServer({ maxPayload: 64 })
    const messages = record(server, 'message')
    const client = await connect(url('/', 'big'))
    const gone = nextEvent(server, 'disconnect')
    const closed = closeOf(client)
    client.send('x'.repeat(65))
    expect(await gone).toMatchObject({ name: 'big', reason: 'error', code: 1009 })
    expect((await closed).code).toBe(1009)
    expect(messages).toEqual([])
    const fits = await connect(url('/', 'small'))
    const message = nextEvent(server, 'message')
    fits.send('x'.repeat(64))
    expect((await message).data).toHaveLength(64)
  })

  it('survives a message listener that throws and reports it as an error event', async () => {
    const { server, url } = await startServer()
    server.on('message', () => { throw new Error('listener bug') })
    const delivered = record(server, 'message')
    const errors = record(server, 'error')
    const client = await connect(url('/', 'x'))
    client.send('one')
    client.send('two')
    await waitFor(() => delivered.length === 2, 1_000, 'both messages')
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatchObject({ code: 'LIFELINE_LISTENER_FAILED', client: 'x', message: "A 'message' listener threw: listener bug" })
  })

  it('turns a throwing listener into a process warning when no error listener can take it', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const { server, url } = await startServer()
    server.on('connection', () => { throw new Error('no one listens') })
    await connect(url('/', 'x'))
    await waitFor(() => warn.mock.calls.length === 1, 1_000, 'the warning')
    expect(warn.mock.calls[0]?.[0]).toMatchObject({ code: 'LIFELINE_LISTENER_FAILED' })
  })
})

describe('heartbeat server on an existing HTTP server', () => {
  it('serves upgrades on its path while the app keeps its routes, and close() leaves the server running', async () => {
    const { http, port } = await startHttp()
    const { server } = await startServer({ server: http, path: '/live' })
    expect(server.address()).toEqual({ port, host: '127.0.0.1' })
    expect(await server.listening).toEqual({ port, host: '127.0.0.1' })
    const client = await connect(`ws://127.0.0.1:${port}/live?name=a`)
    expect(await httpGet(port, '/page')).toEqual({ status: 200, body: 'app route' })
    const closed = closeOf(client)
    await server.close()
    expect((await closed).code).toBe(1001)
    expect(http.listening).toBe(true)
    expect(http.listenerCount('upgrade')).toBe(0)
    expect(await httpGet(port, '/after')).toEqual({ status: 200, body: 'app route' })
  })

  it('leaves upgrades on other paths to other upgrade listeners', async () => {
    const { http, port } = await startHttp()
    const other = new WebSocketServer({ noServer: true })
    track(() => other.close())
    http.on('upgrade', (request, socket, head) => {
      if (request.url === '/other') other.handleUpgrade(request, socket, head, (ws) => ws.send('from other'))
    })
    await startServer({ server: http, path: '/live' })
    const client = new WebSocket(`ws://127.0.0.1:${port}/other`)
    track(() => client.terminate())
    const first = await within(new Promise<string>((resolve, reject) => {
      client.once('message', (data: WebSocket.RawData) => resolve(data.toString()))
      client.once('error', reject)
    }), 1_000, 'a message from the other listener')
    expect(first).toBe('from other')
  })

  it('waits for an attached server to listen before resolving listening', async () => {
    const http = createServer()
    track(() => new Promise((resolve) => http.close(resolve)))
    const server = createHeartbeatServer({ server: http })
    track(() => server.close())
    expect(server.address()).toBeNull()
    http.listen(0, '127.0.0.1')
    const { port } = await within(server.listening, 1_000, 'listening')
    expect(port).toBeGreaterThan(0)
    expect((await refusedUpgrade(port, '/nope')).split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found')
  })

  it('rejects listening with a coded error when the port is taken, without an unhandled rejection', async () => {
    const { port } = await startHttp()
    const server = createHeartbeatServer({ port })
    track(() => server.close())
    const errors = record(server, 'error')
    await expect(server.listening).rejects.toMatchObject({ code: 'LIFELINE_LISTEN_FAILED' })
    expect(errors).toHaveLength(1)
    await server.close()
  })
})
