import { describe, expect, it } from 'vitest'
import { OutboundBuffer, snapshot } from '../src/buffer.js'

const always = () => true

describe('OutboundBuffer', () => {
  it('flushes in order', () => {
    const buffer = new OutboundBuffer(3, 'drop-oldest')
    for (const m of ['a', 'b', 'c']) buffer.push(m)
    const out: unknown[] = []
    buffer.flush(always, (m) => out.push(m), () => {})
    expect(out).toEqual(['a', 'b', 'c'])
    expect(buffer.size).toBe(0)
  })

  it('drops the oldest when full and returns it', () => {
    const buffer = new OutboundBuffer(2, 'drop-oldest')
    expect(buffer.push('a')).toBeUndefined()
    expect(buffer.push('b')).toBeUndefined()
    expect(buffer.push('c')).toBe('a')
    expect(buffer.clear()).toEqual(['b', 'c'])
  })

  it('stays bounded however many messages it drops', () => {
    const buffer = new OutboundBuffer(3, 'drop-oldest')
    for (let i = 0; i < 10_000; i++) buffer.push(`m${i}`)
    expect(buffer.size).toBe(3)
    expect((buffer as unknown as { queue: unknown[] }).queue.length).toBeLessThanOrEqual(6)
    expect(buffer.clear()).toEqual(['m9997', 'm9998', 'm9999'])
  })

  it('rejects when full with overflow reject', () => {
    const buffer = new OutboundBuffer(1, 'reject')
    buffer.push('a')
    expect(() => buffer.push('b')).toThrow(expect.objectContaining({ code: 'LIFELINE_BUFFER_FULL' }))
    expect(buffer.clear()).toEqual(['a'])
  })

  it('reports a message whose send throws and still sends the rest, in order', () => {
    const buffer = new OutboundBuffer(10, 'drop-oldest')
    for (const m of ['a', 'bad', 'c', 'd']) buffer.push(m)
    const out: unknown[] = []
    const failed: unknown[] = []
    buffer.flush(always, (m) => {
      if (m === 'bad') throw new TypeError('refused')
      out.push(m)
    }, (m, error) => failed.push([m, (error as Error).message]))
    expect(out).toEqual(['a', 'c', 'd'])
    expect(failed).toEqual([['bad', 'refused']])
    expect(buffer.size).toBe(0)
  })

  it('keeps what it could not send for the next socket', () => {
    const buffer = new OutboundBuffer(10, 'drop-oldest')
    for (const m of ['a', 'b', 'c']) buffer.push(m)
    const out: unknown[] = []
    buffer.flush(() => out.length < 1, (m) => out.push(m), () => {})
    expect(out).toEqual(['a'])
    expect(buffer.clear()).toEqual(['b', 'c'])
  })

  it('sends messages queued during the flush in their turn', () => {
    const buffer = new OutboundBuffer(10, 'drop-oldest')
    buffer.push('a')
    const out: unknown[] = []
    buffer.flush(always, (m) => {
      out.push(m)
      if (m === 'a') buffer.push('b')
    }, () => {})
    expect(out).toEqual(['a', 'b'])
    expect(buffer.size).toBe(0)
  })

  it('copies binary messages when they are queued', () => {
    const buffer = new OutboundBuffer(10, 'drop-oldest')
    const bytes = new Uint8Array([1, 2, 3])
    const raw = new Uint8Array([4, 5]).buffer
    buffer.push(bytes)
    buffer.push(raw)
    bytes[0] = 99
    new Uint8Array(raw)[0] = 99
    const [first, second] = buffer.clear()
    expect([...(first as Uint8Array)]).toEqual([1, 2, 3])
    expect([...new Uint8Array(second as ArrayBuffer)]).toEqual([4, 5])
  })
})

describe('snapshot', () => {
  it('copies only the bytes a view covers', () => {
    const whole = new Uint8Array([0, 1, 2, 3, 4, 5])
    const copy = snapshot(new DataView(whole.buffer, 2, 3)) as Uint8Array
    whole.fill(9)
    expect([...copy]).toEqual([2, 3, 4])
  })

  it('leaves strings alone', () => {
    expect(snapshot('text')).toBe('text')
  })
})
