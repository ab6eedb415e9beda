import { describe, expect, it } from 'vitest'
import { fitCloseReason, utf8Length } from '../../src/utf8.js'
import { decodeFrame, fitsPayload, envelopeBytes, encodeAck, encodeData, encodeHello, encodeWelcome, newSessionId, ProtocolError } from '../../src/reliable/protocol.js'

describe('reliable-delivery protocol', () => {
  it('round-trips every frame', () => {
    const id = newSessionId()
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(newSessionId()).not.toBe(id)
    expect(decodeFrame(encodeHello(id, 42))).toEqual({ type: 'hello', session: id, ack: 42, maxPayload: undefined })
    expect(decodeFrame(encodeHello(id, 42, 1024))).toEqual({ type: 'hello', session: id, ack: 42, maxPayload: 1024 })
    expect(() => decodeFrame(encodeHello(id, 42, 1023))).toThrow(ProtocolError)
    expect(decodeFrame(encodeWelcome(id, true, 7))).toEqual({ type: 'welcome', session: id, resumed: true, ack: 7, maxPayload: undefined })
    expect(decodeFrame(encodeWelcome(id, false, 0, 65_536))).toEqual({ type: 'welcome', session: id, resumed: false, ack: 0, maxPayload: 65_536 })
    expect(decodeFrame(encodeAck(9))).toEqual({ type: 'ack', ack: 9 })
    expect(decodeFrame(encodeData(3, 2, 'hé "quoted" ["x"]'))).toEqual({ type: 'data', seq: 3, ack: 2, data: 'hé "quoted" ["x"]' })
    const bytes = new Uint8Array([0, 1, 2, 255])
    const frame = encodeData(2 ** 40, 5, bytes)
    expect(frame).toBeInstanceOf(Uint8Array)
    const decoded = decodeFrame(frame as Uint8Array)
    expect(decoded).toMatchObject({ type: 'data', seq: 2 ** 40, ack: 5 })
    expect([...(decoded as { data: Uint8Array }).data]).toEqual([0, 1, 2, 255])
  })

  it.each([
    ['not json', 1007, /Expected a reliable-delivery frame \(a JSON array\), got "not json"/],
    ['{"d":1}', 1007, /Expected a reliable-delivery frame/],
    ['["d",0,0,"x"]', 1002, /Malformed reliable-delivery frame/],
    ['["d",1.5,0,"x"]', 1002, /Malformed/],
    ['["d",1,-1,"x"]', 1002, /Malformed/],
    ['["d",1,0,42]', 1002, /Malformed/],
    ['["a"]', 1002, /Malformed/],
    ['["hello",2,"0123456789abcdef",0]', 1002, /Unsupported reliable-delivery protocol version 2; this side speaks 1/],
    ['["hello",1,null,0]', 1002, /Malformed/],
    ['["hello",1,"short",0]', 1002, /Malformed/],
    ['["hello",1,"0123456789abcdef 0123",0]', 1002, /Malformed/],
    ['["hello",1,"0123456789abcdef",0,0]', 1002, /Malformed/],
    ['["hello",1,"0123456789abcdef",0,1.5]', 1002, /Malformed/],
    ['["welcome",1,"abc",true,0]', 1002, /Malformed/],
    ['["welcome",1,"0123456789abcdef",true,0,-1]', 1002, /Malformed/],
    [`["hello","${'é'.repeat(200)}","0123456789abcdef",0]`, 1002, /Unsupported reliable-delivery protocol version "\\"é{39}…"; this side speaks 1/],
    ['["zap"]', 1002, /Malformed/],
  ])('rejects %s with close code %i', (raw, code, message) => {
    let error: unknown
    try {
      decodeFrame(raw)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).code).toBe(code)
    expect((error as ProtocolError).message).toMatch(message)
    expect((error as ProtocolError).message.length).toBeLessThan(160)
    expect((error as ProtocolError).reason).not.toContain(raw.slice(2, 12))
  })

  it('rejects short or mistagged binary frames', () => {
    expect(() => decodeFrame(new Uint8Array([0x64, 1, 2]))).toThrow(ProtocolError)
    expect(() => decodeFrame(new Uint8Array(17))).toThrow(ProtocolError)
  })

  it('knows whether a data frame fits a peer limit, whatever its sequence numbers', () => {
    expect(fitsPayload('x'.repeat(100), undefined)).toBe(true)
    const seq = Number.MAX_SAFE_INTEGER
    for (const data of ['"'.repeat(600), '\u0001'.repeat(300), 'é'.repeat(500), '😀'.repeat(300), 'plain text']) {
      const frame = encodeData(seq, seq, data) as string
      const size = Buffer.byteLength(frame)
      expect(size).toBeLessThanOrEqual(envelopeBytes(data))
      expect(fitsPayload(data, envelopeBytes(data))).toBe(true)
      expect(fitsPayload(data, envelopeBytes(data) - 1)).toBe(false)
    }
    expect(fitsPayload(new Uint8Array(100), 117)).toBe(true)
    expect(fitsPayload(new Uint8Array(100), 116)).toBe(false)
  })
})

describe('close reasons', () => {
  it('cuts a reason to 123 UTF-8 bytes on a character boundary', () => {
    for (const text of ['€'.repeat(60), 'ü'.repeat(80), 'a'.repeat(200), '😀'.repeat(40), 'a' + '😀'.repeat(40), '\ud800'.repeat(50), 'short']) {
      const cut = fitCloseReason(text)
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123)
      expect(text.startsWith(cut)).toBe(true)
      expect(utf8Length(cut)).toBe(Buffer.byteLength(cut))
      // Nothing more fits: the next character would overflow.
      if (cut.length < text.length) expect(Buffer.byteLength(text.slice(0, cut.length + 2))).toBeGreaterThan(123)
    }
    expect(fitCloseReason('short')).toBe('short')
  })
})
