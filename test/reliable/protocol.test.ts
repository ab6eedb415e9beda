import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeAck, encodeData, encodeHello, encodeWelcome, newSessionId, ProtocolError } from '../../src/reliable/protocol.js'

describe('reliable-delivery protocol', () => {
  it('round-trips every frame', () => {
    const id = newSessionId()
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(newSessionId()).not.toBe(id)
    expect(decodeFrame(encodeHello(id, 42))).toEqual({ type: 'hello', session: id, ack: 42 })
    expect(decodeFrame(encodeWelcome('abc', true, 7))).toEqual({ type: 'welcome', session: 'abc', resumed: true, ack: 7 })
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
  })

  it('rejects short or mistagged binary frames', () => {
    expect(() => decodeFrame(new Uint8Array([0x64, 1, 2]))).toThrow(ProtocolError)
    expect(() => decodeFrame(new Uint8Array(17))).toThrow(ProtocolError)
  })
})
