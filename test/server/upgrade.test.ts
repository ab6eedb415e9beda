import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { HeartbeatServerError } from '../../src/server/index.js'
import { cleanup, connect, delay, nextEvent, record, refusedUpgrade, startServer, tcp, within } from './helpers.js'

afterEach(cleanup)

const statusLine = (answer: string): string => answer.split('\r\n')[0] ?? ''

describe('heartbeat server upgrades', () => {
  it('answers an upgrade on another path with a complete HTTP 404 response', async () => {
    const { port, server } = await startServer({ path: '/ws/' })
    const answer = await refusedUpgrade(port, '/other/')
    expect(statusLine(answer)).toBe('HTTP/1.1 404 Not Found')
    expect(answer).toMatch(/\r\nConnection: close\r\n/i)
    const [head = '', body = ''] = answer.split('\r\n\r\n')
    expect(head).toMatch(new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(body)}(\\r\\n|$)`, 'i'))
    expect(body).toBe('404 Not Found\n')
    expect(server.clients.size).toBe(0)
  })

  it('matches the path exactly: a prefix or a longer path is refused', async () => {
    const { port, url } = await startServer({ path: '/ws' })
    expect(statusLine(await refusedUpgrade(port, '/ws/'))).toBe('HTTP/1.1 404 Not Found')
    expect(statusLine(await refusedUpgrade(port, '/wsx'))).toBe('HTTP/1.1 404 Not Found')
    await connect(url('/ws', 'a'))
  })

  it('names a client by ?name= by default, else by a generated id', async () => {
    const { server, url } = await startServer()
    await connect(url('/', 'alice'))
    await connect(url('/'))
    const names = [...server.clients.keys()]
    expect(names).toContain('alice')
    expect(names.find((n) => n !== 'alice')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("refuses with 401 when identify returns null, throws or rejects (refusal: 'status')", async () => {
    const { port, server } = await startServer({
      refusal: 'status',
      identify: (_request, url) => {
        const mode = url.searchParams.get('mode')
        if (mode === 'throw') throw new Error('boom')
        if (mode === 'reject') return Promise.reject(new Error('async boom'))
        return null
      },
    })
    const errors = record(server, 'error')
    for (const mode of ['null', 'throw', 'reject']) {
      expect(statusLine(await refusedUpgrade(port, `/?mode=${mode}`))).toBe('HTTP/1.1 401 Unauthorized')
    }
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_HOOK_FAILED', 'LIFELINE_HOOK_FAILED'])
    expect(errors[0]?.message).toMatch(/identify threw "boom"/)
    expect(errors[1]?.message).toMatch(/identify threw "async boom"/)
  })

  it("refuses with 403 when verify returns false or rejects, and admits when it returns true (refusal: 'status')", async () => {
    const { port, server, url } = await startServer({
      refusal: 'status',
      verify: async (_request, _url, name) => {
        await delay(1)
        if (name === 'bad') throw new Error('no')
        return name === 'good'
      },
    })
    const errors = record(server, 'error')
    expect(statusLine(await refusedUpgrade(port, '/?name=other'))).toBe('HTTP/1.1 403 Forbidden')
    expect(statusLine(await refusedUpgrade(port, '/?name=bad'))).toBe('HTTP/1.1 403 Forbidden')
    await connect(url('/', 'good'))
    expect([...server.clients.keys()]).toEqual(['good'])
    expect(errors).toHaveLength(1)
  })

  it('survives a client that disconnects while an async hook runs', async () => {
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const { port, server, url } = await startServer({ verify: async () => { await gate; return true } })
    const socket = await tcp(port)
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    await delay(20)
    socket.resetAndDestroy()
    await delay(20)
    release()
    await delay(20)
    expect(server.clients.size).toBe(0)
    await connect(url('/', 'later'))
    expect(server.clients.has('later')).toBe(true)
  })

  it('answers a malformed handshake with 400 and keeps serving', async () => {
    const { port, url } = await startServer()
    const socket = await tcp(port)
    const answer = new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
      socket.once('close', () => resolve(text))
    })
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n')
    expect(statusLine(await within(answer, 2_000, 'the 400'))).toBe('HTTP/1.1 400 Bad Request')
    await connect(url('/', 'fine'))
  })

  it('answers plain HTTP requests to the server it created with 426', async () => {
    const { port } = await startServer()
    const status = await within(new Promise<number | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/' }, (response) => {
        response.resume()
        resolve(response.statusCode)
      }).on('error', reject).end()
    }), 2_000, 'the HTTP answer')
    expect(status).toBe(426)
  })

  it('reports a hook failure as an error event with a stable code', async () => {
    const { port, server } = await startServer({ identify: () => { throw new TypeError('bad token') } })
    const error = nextEvent(server, 'error')
    await refusedUpgrade(port, '/')
    const reported: HeartbeatServerError = await error
    expect(reported.code).toBe('LIFELINE_HOOK_FAILED')
    expect(reported.cause).toBeInstanceOf(TypeError)
  })

  it('refuses an upgrade whose hooks have not settled within upgradeTimeout with 503, and frees its socket', async () => {
    const { port, server, url } = await startServer({ verify: () => new Promise<boolean>(() => {}), upgradeTimeout: 100 })
    const errors = record(server, 'error')
    const answer = refusedUpgrade(port, '/?name=stuck&token=secret')
    expect(statusLine(await within(answer, 2_000, 'the 503'))).toBe('HTTP/1.1 503 Service Unavailable')
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_HOOK_FAILED'])
    expect(errors[0]!.message).toMatch(/did not settle within upgradeTimeout \(100 ms\)/)
    expect(errors[0]!.message).not.toContain('secret')
    void url
  })

  it('lets go of a pending upgrade whose client went away, and refuses beyond maxPendingUpgrades at once', async () => {
    const { port } = await startServer({ verify: () => new Promise<boolean>(() => {}), maxPendingUpgrades: 2, upgradeTimeout: 60_000 })
    const first = await tcp(port)
    const second = await tcp(port)
    for (const socket of [first, second]) socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await delay(30)
    expect(statusLine(await refusedUpgrade(port, '/?name=third'))).toBe('HTTP/1.1 503 Service Unavailable')
    const firstClosed = new Promise((resolve) => first.once('close', resolve))
    first.resetAndDestroy()
    await within(firstClosed, 1_000, 'the first to close')
    await delay(30)
    // The first one's place is free again: the next upgrade waits on verify instead of a 503.
    const fourth = await tcp(port)
    let answered = false
    fourth.on('data', () => (answered = true))
    fourth.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await delay(50)
    expect(answered).toBe(false)
  })

  it('checks the handshake before running identify or verify', async () => {
    let calls = 0
    const { port } = await startServer({ identify: () => (calls++, 'x') })
    const send = async (head: string): Promise<string> => {
      const socket = await tcp(port)
      const answer = new Promise<string>((resolve) => {
        let text = ''
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
        socket.once('close', () => resolve(text))
      })
      socket.write(head)
      return within(answer, 2_000, 'the answer')
    }
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
    expect(statusLine(await send(`POST / HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`))).toBe('HTTP/1.1 405 Method Not Allowed')
    expect(statusLine(await send(`GET / HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`))).toBe('HTTP/1.1 400 Bad Request')
    const badVersion = await send(`GET / HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n`)
    expect(statusLine(badVersion)).toBe('HTTP/1.1 400 Bad Request')
    expect(badVersion).toMatch(/Sec-WebSocket-Version: 13, 8/)
    expect(calls).toBe(0)
  })

  it('never puts query values (tokens) into a hook failure message', async () => {
    const { port, server } = await startServer({ verify: () => { throw new Error('token rejected') } })
    const error = nextEvent(server, 'error')
    await refusedUpgrade(port, '/?name=alice&token=eyJhbGciOiJIUzI1NiJ9.secret')
    const reported = await error
    expect(reported.message).toBe('verify threw "token rejected" for /?name=…&token=…')
  })

  it('says nothing about the deadline of an upgrade whose client already left', async () => {
    const { port, server } = await startServer({ verify: () => new Promise<boolean>(() => {}), upgradeTimeout: 150 })
    const errors = record(server, 'error')
    const socket = await tcp(port)
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await delay(30)
    socket.resetAndDestroy()
    await delay(300)
    expect(errors).toEqual([])
  })
})
