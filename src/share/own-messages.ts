/**
 * The messages one tab sent through the shared connection, kept until the
 * leader says the connection took them: each is numbered in this tab's
 * order, handed to the leader, and handed again to the next leader if the
 * last one went before it took it (the leader skips what it took already).
 */
import { invalid, LifelineError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { ConnectionStateName, SendData } from '../types.js'

/** A message of this tab, and whether any leader was given it. */
export interface Outgoing {
  id: number
  data: SendData
  forwarded: boolean
}

// A copy, as WebSocket.send() takes its data at the call: the caller may reuse its buffer.
function copyOf(data: SendData): SendData {
  if (data instanceof ArrayBuffer) return data.slice(0)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  return data
}

export class OwnMessages {
  private list: Outgoing[] = []
  private nextId = 1
  private readonly limit: number

  constructor(private readonly options: ResolvedOptions) {
    this.limit = options.buffer ? options.buffer.maxMessages : 1_000
  }

  /** Messages not yet taken. */
  get size(): number {
    return this.list.length
  }

  all(): readonly Outgoing[] {
    return this.list
  }

  /**
   * Takes a message `send()` was given, as a connection of its own would: the
   * buffer's bound counts `pending` (this tab's messages numbered and not yet
   * acknowledged) too. Returns the message, or throws; `dropped` hears of a
   * message the bound pushed out (`overflow: 'drop-oldest'`).
   */
  add(data: SendData, state: ConnectionStateName, pending: number, dropped: (error: LifelineError) => void): Outgoing {
    const reliable = this.options.delivery === 'reliable'
    if (reliable && typeof Blob !== 'undefined' && data instanceof Blob) {
      throw invalid('LIFELINE_INVALID_ARGUMENT', 'send() with delivery: reliable takes a string, ArrayBuffer or typed array, not a Blob (read it with blob.arrayBuffer() first)')
    }
    const { buffer } = this.options
    if (buffer === false && state !== 'open') {
      throw new LifelineError('LIFELINE_NOT_OPEN', `send() while the connection is ${state}: it sends only when open, and buffer is false`)
    }
    const held = this.list.length + pending
    if (held >= this.limit) {
      if (reliable || (buffer && buffer.overflow === 'reject') || this.list.length === 0) {
        throw new LifelineError('LIFELINE_BUFFER_FULL', `send() refused the message: ${held} of this tab's messages wait, the most buffer.maxMessages allows`, { messages: [data] })
      }
      const oldest = this.list.shift()!
      dropped(new LifelineError('LIFELINE_BUFFER_OVERFLOW', `The buffer was full (buffer.maxMessages ${this.limit}); dropped the oldest message`, { messages: [oldest.data] }))
    }
    const entry: Outgoing = { id: this.nextId++, data: copyOf(data), forwarded: false }
    this.list.push(entry)
    return entry
  }

  /** The connection took every message up to `last`. */
  takenUpTo(last: number): void {
    let count = 0
    while (count < this.list.length && this.list[count]!.id <= last) count++
    if (count > 0) this.list.splice(0, count)
  }

  /** The leader refused message `id`; returns its data. */
  refused(id: number): unknown[] {
    const index = this.list.findIndex((o) => o.id === id)
    return index === -1 ? [] : this.list.splice(index, 1).map((o) => o.data)
  }

  /** Empties the list (dispose): what no leader ever had, and what one had without confirming it. */
  discard(): { never: SendData[]; unsure: SendData[] } {
    const list = this.list
    this.list = []
    return { never: list.filter((o) => !o.forwarded).map((o) => o.data), unsure: list.filter((o) => o.forwarded).map((o) => o.data) }
  }
}
