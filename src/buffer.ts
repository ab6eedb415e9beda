import { LifelineError } from './errors.js'
import type { SendData } from './types.js'

/**
 * The bytes of `data` as they are now, as `WebSocket.send()` takes them: a
 * caller that reuses its buffer after `send()` returned must not change what
 * goes out later. Strings and Blobs cannot change; a view becomes a
 * `Uint8Array` of its bytes.
 */
export function snapshot(data: SendData): SendData {
  if (typeof data === 'string') return data
  if (data instanceof ArrayBuffer) return data.slice(0)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  return data
}

/**
 * Messages sent while the connection is not open, delivered in order on open.
 * Bounded; on overflow it either drops the oldest message (returned to the
 * caller to report) or refuses the new one by throwing. Binary messages are
 * copied when queued.
 */
export class OutboundBuffer {
  // Most connections never buffer anything: no array until they do. Entries
  // before `head` went out during a flush still under way.
  private queue: SendData[] | undefined
  private head = 0

  constructor(
    private readonly maxMessages: number,
    private readonly overflow: 'drop-oldest' | 'reject',
  ) {}

  get size(): number {
    return (this.queue?.length ?? 0) - this.head
  }

  /** Queues a copy of `data`; returns the message dropped to make room, if any. */
  push(data: SendData): SendData | undefined {
    let dropped: SendData | undefined
    this.queue ??= []
    if (this.size >= this.maxMessages) {
      if (this.overflow === 'reject') {
        throw new LifelineError(
          'LIFELINE_BUFFER_FULL',
          `send() refused the message: the buffer already holds buffer.maxMessages (${this.maxMessages}) messages and buffer.overflow is 'reject'`,
          { messages: [data] },
        )
      }
      dropped = this.queue[this.head]
      this.queue[this.head++] = undefined as unknown as SendData
      if (this.head * 2 > this.queue.length) this.compact()
    }
    this.queue.push(snapshot(data))
    return dropped
  }

  /**
   * Hands queued messages to `send`, oldest first, while `canSend()` holds;
   * what is left stays queued for the next socket. A message whose `send`
   * throws goes to `failed`, and the ones after it still go out. Messages
   * queued meanwhile (by a listener) go out in their turn.
   */
  flush(canSend: () => boolean, send: (data: SendData) => void, failed: (data: SendData, error: unknown) => void): void {
    while (this.queue !== undefined && this.head < this.queue.length && canSend()) {
      const data = this.queue[this.head] as SendData
      this.queue[this.head++] = undefined as unknown as SendData
      try {
        send(data)
      } catch (error) {
        failed(data, error)
      }
    }
    if (this.queue !== undefined && this.head >= this.queue.length) this.clear()
  }

  private compact(): void {
    this.queue = this.queue?.slice(this.head)
    this.head = 0
  }

  /** Empties the queue and returns what it held. */
  clear(): SendData[] {
    const queue = this.queue?.slice(this.head) ?? []
    this.queue = undefined
    this.head = 0
    return queue
  }
}
