import { describe, expect, it } from 'vitest'
import { OutboundBuffer } from '../src/buffer.js'

describe('OutboundBuffer', () => {
  it('drains in order', () => {
    const buffer = new OutboundBuffer(3, 'drop-oldest')
    for (const m of ['a', 'b', 'c']) buffer.push(m)
    const out: unknown[] = []
    buffer.drain((m) => out.push(m))
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

  it('rejects when full with overflow reject', () => {
    const buffer = new OutboundBuffer(1, 'reject')
    buffer.push('a')
    expect(() => buffer.push('b')).toThrow(expect.objectContaining({ code: 'LIFELINE_BUFFER_FULL' }))
    expect(buffer.clear()).toEqual(['a'])
  })
})
