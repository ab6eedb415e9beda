import { LifelineError } from './errors.js'
import type { SendData } from './types.js'

/**
 * Messages sent while the connection is not open, delivered in order on open.
 * Bounded; on overflow it either drops the oldest message (returned to the
 * caller to report) or refuses the new one by throwing.
 */
export class OutboundBuffer {
  // Most connections never buffer anything: no array until they do.
  private queue: SendData[] | undefined

  constructor(
    private readonly maxMessages: number,
    private readonly overflow: 'drop-oldest' | 'reject',
  ) {}

  get size(): number {
    return this.queue?.length ?? 0
  }

  /** Queues `data`; returns the message dropped to make room, if any. */
  push(data: SendData): SendData | undefined {
    let dropped: SendData | undefined
    this.queue ??= []
    if (this.queue.length >= this.maxMessages) {
      if (this.overflow === 'reject') {
        throw new LifelineError(
          'LIFELINE_BUFFER_FULL',
          `send() refused the message: the buffer already holds buffer.maxMessages (${this.maxMessages}) messages and buffer.overflow is 'reject'`,
          { messages: [data] },
        )
      }
      dropped = this.queue.shift()
    }
    this.queue.push(data)
    return dropped
  }

  /** Hands every queued message to `send`, oldest first, and empties the queue. */
  drain(send: (data: SendData) => void): void {
    const queue = this.queue
    this.queue = undefined
    if (queue) for (const data of queue) send(data)
  }

  /** Empties the queue and returns what it held. */
  clear(): SendData[] {
    const queue = this.queue ?? []
    this.queue = undefined
    return queue
  }
}
