/**
 * The reliable client with a scripted socket and a test clock: the test
 * plays the server, frame by frame, with the protocol's own encoders.
 */
import { describe, expect, it } from 'vitest'
import type { WebSocketConstructor } from '../../src/index.node.js'
import { decodeFrame, encodeAck, encodeData, encodeWelcome } from '../../src/reliable/protocol.js'
import { FakeWebSocket } from '../helpers/fake-websocket.js'
import { harness } from '../helpers/harness.js'

const reliable = {
  delivery: 'reliable' as const,
  connectTimeout: 2_000,
  heartbeat: { interval: 1_000, timeout: 500 },
  reconnect: { initialDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0 },
}

type Hello = { session: string; ack: number; maxPayload: number | undefined }

function helloOf(socket: FakeWebSocket): Hello {
  const frame = decodeFrame(socket.sent[0] as string)
  if (frame.type !== 'hello') throw new Error(`expected a hello, got ${String(socket.sent[0])}`)
  return frame
}

/** Opens the fake socket and answers its hello. */
function welcome(options: { resumed?: boolean; ack?: number; maxPayload?: number } = {}): FakeWebSocket {
  const socket = FakeWebSocket.last
  if (socket.readyState === 0) socket.serverOpen()
  const { session } = helloOf(socket)
  socket.serverMessage(encodeWelcome(session, options.resumed ?? false, options.ack ?? 0, options.maxPayload))
  return socket
}

const dataFrames = (socket: FakeWebSocket) =>
  socket.sent.slice(1).filter((f) => f !== 'ping').map((f) => decodeFrame(f as string | Uint8Array))

/** Closes like a browser: only 1000 and 3000–4999, reasons of at most 123 UTF-8 bytes. */
class BrowserLikeWebSocket extends FakeWebSocket {
  override close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) throw new DOMException('InvalidAccessError', 'InvalidAccessError')
    if (reason !== undefined && new TextEncoder().encode(reason).length > 123) throw new DOMException('SyntaxError', 'SyntaxError')
    super.close(code, reason)
  }
}

/** A socket whose close() with a code always throws. */
class StubbornWebSocket extends FakeWebSocket {
  override close(code?: number, reason?: string): void {
    if (code !== undefined) throw new Error('will not close like that')
    super.close(code, reason)
  }
}

describe('reliable client: the welcome (review 25)', () => {
  it('stays connecting until the welcome, then opens and sends what waited', () => {
    const { conn, of } = harness(reliable)
    conn.send('queued')
    conn.open()
    FakeWebSocket.last.serverOpen()
    expect(conn.state).toBe('connecting')
    expect(helloOf(FakeWebSocket.last).ack).toBe(0)
    expect(of('open')).toEqual([])
    const socket = welcome()
    expect(conn.state).toBe('open')
    expect(of('open')).toHaveLength(1)
    expect(dataFrames(socket)).toEqual([{ type: 'data', seq: 1, ack: 0, data: 'queued' }])
  })

  it('reports a hello left unanswered for connectTimeout, and retries', () => {
    const { conn, clock, of } = harness(reliable)
    conn.send('waiting')
    conn.open()
    FakeWebSocket.last.serverOpen()
    clock.advance(1_999)
    expect(conn.state).toBe('connecting')
    clock.advance(1)
    expect(conn.state).toBe('backoff')
    expect(of('error')).toEqual([
      expect.objectContaining({ code: 'LIFELINE_PROTOCOL_ERROR', message: expect.stringMatching(/No welcome within connectTimeout \(2000 ms\) after the hello: is the server in reliable mode/) }),
    ])
    expect(of('close')).toEqual([{ code: 1006, reason: 'connect-timeout', wasClean: false }])
    clock.advance(100)
    expect(conn.state).toBe('connecting')
    expect(FakeWebSocket.instances).toHaveLength(2)
    expect(conn.buffered).toBe(1)
  })

  it('says nothing about the welcome when the socket itself never opened', () => {
    const { conn, clock, of } = harness(reliable)
    conn.open()
    clock.advance(2_000)
    expect(conn.state).toBe('backoff')
    expect(of('error')).toEqual([])
  })
})

describe('reliable client: protocol errors (review 2, S1, S6)', () => {
  it('closes a browser socket with 4007 and a fixed reason when the server sends multi-byte garbage', () => {
    const { conn, of } = harness({ ...reliable, WebSocket: BrowserLikeWebSocket as unknown as WebSocketConstructor })
    conn.open()
    FakeWebSocket.last.serverOpen()
    const socket = FakeWebSocket.last
    socket.serverMessage('ü'.repeat(40))
    expect(socket.closeCalls[0]).toEqual({ code: 4007, reason: 'not a reliable-delivery frame' })
    expect(socket.readyState).toBeGreaterThanOrEqual(2)
    expect(conn.state).toBe('failed')
    expect(of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_PROTOCOL_ERROR', message: expect.stringMatching(/closed with 4007$/) })])
    expect(of('close')).toEqual([{ code: 4007, reason: 'not a reliable-delivery frame', wasClean: false }])
    expect(of('failed')).toEqual([{ reason: 'not-retried', attempts: 1 }])
  })

  it('terminates a socket that refuses every close code, leaving no zombie', () => {
    const { conn } = harness({ ...reliable, WebSocket: StubbornWebSocket as unknown as WebSocketConstructor })
    conn.open()
    FakeWebSocket.last.serverOpen()
    FakeWebSocket.last.serverMessage('["d",1,0,"too early"]')
    expect(FakeWebSocket.live()).toEqual([])
    expect(conn.state).toBe('failed')
  })

  it('does not retry a protocol error when the link dies before the close handshake', () => {
    const { conn, clock, of } = harness(reliable)
    conn.open()
    const socket = welcome()
    socket.serverMessage('["a",5]') // acknowledges a message never sent
    expect(conn.state).toBe('failed')
    socket.serverClose(1006) // the link died: no close frame came back
    clock.advance(60_000)
    expect(conn.state).toBe('failed')
    expect(of('reconnect')).toEqual([])
    expect(of('close')).toEqual([{ code: 1002, reason: 'reliable-delivery protocol error', wasClean: false }])
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('never puts the peer\'s bytes in the close reason', () => {
    const { conn } = harness(reliable)
    conn.open()
    FakeWebSocket.last.serverOpen()
    const socket = FakeWebSocket.last
    socket.serverMessage(`["welcome","${'é'.repeat(200)}"]`)
    expect(socket.closeCalls).toEqual([{ code: 1002, reason: 'reliable-delivery protocol error' }])
  })
})

describe("reliable client: the server's maxPayload (review 10)", () => {
  it('refuses at send() a message whose frame would exceed the limit the welcome announced', () => {
    const { conn } = harness(reliable)
    conn.open()
    const socket = welcome({ maxPayload: 1_024 })
    expect(() => conn.send('"'.repeat(600))).toThrow(expect.objectContaining({
      code: 'LIFELINE_MESSAGE_TOO_LARGE',
      message: expect.stringMatching(/its reliable-delivery frame would take \d+ bytes, over the server's maxPayload of 1024/),
    }))
    conn.send('fits')
    expect(dataFrames(socket)).toEqual([{ type: 'data', seq: 1, ack: 0, data: 'fits' }])
    expect(conn.buffered).toBe(1)
  })

  it('removes, at the welcome, queued messages that cannot fit, reports them, and sends the rest in order', () => {
    const { conn, of } = harness(reliable)
    const poison = '"'.repeat(600)
    conn.send('before')
    conn.send(poison)
    conn.send(new Uint8Array(2_000))
    conn.send('after')
    conn.open()
    const socket = welcome({ maxPayload: 1_024 })
    expect(of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_MESSAGE_TOO_LARGE', messages: [poison, new Uint8Array(2_000)] })])
    expect(dataFrames(socket).map((f) => f.type === 'data' && [f.seq, f.data])).toEqual([[1, 'before'], [2, 'after']])
    expect(conn.buffered).toBe(2)
  })

  it('checks again at a resumed welcome: what the server has not acknowledged is renumbered', () => {
    const { conn, clock } = harness(reliable)
    conn.open()
    welcome()
    conn.send('one')
    conn.send('x'.repeat(1_500))
    conn.send('three')
    FakeWebSocket.last.serverClose(1006)
    clock.advance(clock.nextDue()!)
    const socket = welcome({ resumed: true, ack: 1, maxPayload: 1_024 })
    expect(dataFrames(socket).map((f) => f.type === 'data' && [f.seq, f.data])).toEqual([[2, 'three']])
  })

  it('announces no limit of its own for a WebSocket it was given', () => {
    const { conn } = harness(reliable)
    conn.open()
    FakeWebSocket.last.serverOpen()
    expect(helloOf(FakeWebSocket.last).maxPayload).toBeUndefined()
  })
})

describe('reliable client: bytes are taken at send() (review 15)', () => {
  it('sends, and sends again after a reconnect, the bytes as they were at send()', () => {
    const { conn, clock } = harness(reliable)
    const bytes = new Uint8Array([1, 2, 3])
    conn.send(bytes)
    bytes[0] = 99
    conn.open()
    const first = welcome()
    bytes[1] = 99
    first.serverClose(1006)
    clock.advance(clock.nextDue()!)
    const second = welcome({ resumed: true, ack: 0 })
    for (const socket of [first, second]) {
      const [frame] = dataFrames(socket)
      expect(frame?.type === 'data' && [...(frame.data as Uint8Array)]).toEqual([1, 2, 3])
    }
  })
})

describe('reliable client: dispose() (review 22)', () => {
  it('reports messages never sent and messages sent without an acknowledgement apart', () => {
    const { conn, clock, of } = harness(reliable)
    conn.open()
    const socket = welcome()
    conn.send('acknowledged')
    socket.serverMessage(encodeAck(1))
    conn.send('sent, unacknowledged')
    socket.serverClose(1006)
    conn.send('never sent')
    expect(clock.pending).toBeGreaterThan(0)
    conn.dispose()
    expect(of('error')).toEqual([
      expect.objectContaining({ code: 'LIFELINE_BUFFER_DISCARDED', messages: ['never sent'], message: expect.stringMatching(/never sent: they can safely be sent again/) }),
      expect.objectContaining({ code: 'LIFELINE_UNACKNOWLEDGED_DISCARDED', messages: ['sent, unacknowledged'], message: expect.stringMatching(/may or may not have arrived/) }),
    ])
    expect(clock.pending).toBe(0)
  })

  it('delivers what the server sends, once, and acknowledges it', () => {
    const { conn, clock, of } = harness(reliable)
    conn.open()
    const socket = welcome()
    socket.serverMessage(encodeData(1, 0, 'from the server') as string)
    expect(of('message')).toEqual(['from the server'])
    clock.advance(1_000)
    expect(socket.sent.slice(-2)).toEqual([encodeAck(1), 'ping'])
  })
})

describe('reliable client: dispose() from inside a listener (review 14)', () => {
  const cases: { type: 'message' | 'session-lost' | 'open' | 'error' | 'state'; drive: (socket: FakeWebSocket) => void }[] = [
    { type: 'message', drive: (socket) => socket.serverMessage(encodeData(1, 0, 'hello') as string) },
    { type: 'open', drive: () => {} },
    { type: 'state', drive: () => {} },
    { type: 'error', drive: (socket) => socket.serverMessage('not a frame') },
  ]
  for (const { type, drive } of cases) {
    it(`leaves no socket open and no timer pending when called from a '${type}' listener`, () => {
      const { conn, clock } = harness(reliable)
      conn.on(type, (event) => (type !== 'state' || (event as { state: string }).state === 'open') && conn.dispose())
      conn.open()
      if (type === 'open' || type === 'state') {
        welcome()
      } else {
        drive(welcome())
      }
      expect(FakeWebSocket.live()).toEqual([])
      expect(clock.pending).toBe(0)
      expect(conn.state).toBe('idle')
    })
  }

  it("leaves nothing behind when called from a 'session-lost' listener", () => {
    const { conn, clock } = harness(reliable)
    conn.open()
    welcome()
    conn.send('in flight')
    FakeWebSocket.last.serverClose(1006)
    clock.advance(clock.nextDue()!)
    conn.on('session-lost', () => conn.dispose())
    welcome({ resumed: false })
    expect(FakeWebSocket.live()).toEqual([])
    expect(clock.pending).toBe(0)
  })
})
