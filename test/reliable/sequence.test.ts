/**
 * Sequencing, acknowledgement, resend and dedupe, model-based: a seeded
 * random walk drives a sender and a receiver through sends, deliveries,
 * acknowledgements and broken links (everything in flight lost), resuming
 * the way the protocol does: the receiver reports what it has, the sender
 * forgets that much and sends the rest again. After every step the receiver
 * must have exactly the messages sent so far, a prefix, in order.
 */
import { describe, expect, it } from 'vitest'
import { Inbox, Outbox } from '../../src/reliable/sequence.js'
import { seededRandom } from '../helpers/random.js'


describe('Outbox and Inbox', () => {
  it('delivers every message exactly once, in order, through broken links (2,000 seeded walks)', () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const rand = seededRandom(seed)
      const outbox = new Outbox<number>(64)
      const inbox = new Inbox()
      const delivered: number[] = []
      let inFlight: { seq: number; data: number }[] = []
      let acksInFlight: number[] = []
      let linkUp = true
      let next = 0
      for (let step = 0; step < 200; step++) {
        const roll = rand()
        if (roll < 0.35 && !outbox.full) {
          outbox.push(next++)
          if (linkUp) inFlight.push(outbox.takeUnsent()!)
        } else if (roll < 0.65 && inFlight.length > 0) {
          const frame = inFlight.shift()!
          if (inbox.accept(frame.seq) === 'deliver') {
            // Delivered only ever grows: the prefix holds while each new one is the next in line.
            if (frame.data !== delivered.length) throw new Error(`seed ${seed}, step ${step}: delivered ${frame.data} after ${delivered.length} messages`)
            delivered.push(frame.data)
          }
          if (rand() < 0.3) acksInFlight.push(inbox.delivered)
        } else if (roll < 0.8 && acksInFlight.length > 0) {
          outbox.acknowledge(acksInFlight.shift()!)
        } else if (roll < 0.9 && linkUp) {
          linkUp = false // everything in flight, both ways, is lost
          inFlight = []
          acksInFlight = []
        } else if (!linkUp) {
          linkUp = true // resume: hello carries what the receiver has
          outbox.acknowledge(inbox.delivered)
          outbox.rewind()
          inFlight = []
          for (let entry = outbox.takeUnsent(); entry; entry = outbox.takeUnsent()) inFlight.push(entry)
        }
        if (outbox.size > 64) throw new Error(`seed ${seed}, step ${step}: the outbox holds ${outbox.size} of 64`)
      }
      // Drain: resume and deliver everything.
      outbox.acknowledge(inbox.delivered)
      outbox.rewind()
      for (let entry = outbox.takeUnsent(); entry; entry = outbox.takeUnsent()) {
        if (inbox.accept(entry.seq) === 'deliver') delivered.push(entry.data)
      }
      outbox.acknowledge(inbox.delivered)
      expect(delivered, `seed ${seed}`).toEqual(Array.from({ length: next }, (_, i) => i))
      expect(outbox.size).toBe(0)
    }
  })

  it('drops duplicates and refuses gaps and acknowledgements of unsent messages', () => {
    const inbox = new Inbox()
    expect(inbox.accept(1)).toBe('deliver')
    expect(inbox.accept(1)).toBe('duplicate')
    expect(() => inbox.accept(3)).toThrow(/Message 3 arrived before 2/)
    const outbox = new Outbox<string>(10)
    outbox.push('a')
    outbox.takeUnsent()
    outbox.push('b')
    expect(() => outbox.acknowledge(2)).toThrow(/Acknowledgement 2 for a message never sent \(last sent is 1\)/)
  })

  it('keeps unsent messages and reports sent-but-unacknowledged ones when the session restarts', () => {
    const outbox = new Outbox<string>(10)
    outbox.push('delivered')
    outbox.push('in flight')
    outbox.takeUnsent()
    outbox.takeUnsent()
    outbox.push('never sent')
    outbox.acknowledge(1)
    expect(outbox.restart()).toEqual(['in flight'])
    expect(outbox.unacknowledged().map((e) => [e.seq, e.data])).toEqual([[1, 'never sent']])
  })

  it('numbers with safe integers: the documented bound is 2^53', () => {
    const outbox = new Outbox<string>(2)
    outbox.restore(Number.MAX_SAFE_INTEGER - 1, ['x'])
    expect(outbox.push('y')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('counts bytes as well as messages and refuses what does not fit', () => {
    const outbox = new Outbox<string>(10, 10, (data) => data.length)
    outbox.push('12345')
    expect(outbox.accepts('123456')).toBe(false)
    expect(outbox.accepts('12345')).toBe(true)
    outbox.push('12345')
    expect(outbox.full).toBe(true)
    outbox.takeUnsent()
    outbox.acknowledge(1)
    expect(outbox.bytes).toBe(5)
    expect(outbox.full).toBe(false)
  })

  it('acknowledges at the cost of what it acknowledges, not of what is outstanding', () => {
    const outbox = new Outbox<number>(Infinity, Infinity, () => 1)
    for (let i = 0; i < 20_000; i++) outbox.push(i)
    let calls = 0
    const counted = new Outbox<number>(Infinity, Infinity, () => (calls++, 1))
    for (let i = 0; i < 20_000; i++) counted.push(i)
    counted.takeUnsent()
    calls = 0
    for (let i = 0; i < 1_000; i++) counted.acknowledge(1) // the same ack again and again: nothing to do
    expect(calls).toBe(1)
    expect(counted.size).toBe(19_999)
    expect(outbox.unsent).toBe(20_000)
  })

  it('drops messages after a welcome and numbers the rest on from the first unacknowledged', () => {
    const outbox = new Outbox<string>(10)
    for (const data of ['a', 'too big', 'b']) outbox.push(data)
    outbox.takeUnsent()
    outbox.acknowledge(1)
    outbox.rewind()
    expect(outbox.drop((data) => data === 'too big')).toEqual(['too big'])
    expect(outbox.unacknowledged()).toEqual([{ seq: 2, data: 'b' }])
    expect(outbox.nextSeq).toBe(3)
    expect(outbox.takeUnsent()).toEqual({ seq: 2, data: 'b' })
  })

  it('tells what went out unacknowledged from what never went out when cleared', () => {
    const outbox = new Outbox<string>(10)
    for (const data of ['acked', 'in flight', 'queued']) outbox.push(data)
    outbox.takeUnsent()
    outbox.takeUnsent()
    outbox.acknowledge(1)
    expect(outbox.clear()).toEqual({ sent: ['in flight'], unsent: ['queued'] })
    expect(outbox.size).toBe(0)
    expect(outbox.push('next')).toBe(4)
  })
})
