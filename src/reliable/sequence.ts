/**
 * The two halves of reliable delivery, as pure bookkeeping: what one side
 * sent and the other has not yet acknowledged, and what one side received.
 */

/** A numbered message. */
export interface Entry<T> {
  readonly seq: number
  readonly data: T
}

/**
 * Outbound messages, numbered consecutively, kept until the peer
 * acknowledges them. Messages go out in order, so "sent" is a prefix of the
 * unacknowledged ones and one index marks where it ends: every operation
 * costs what it touches, never a scan of the whole box.
 */
export class Outbox<T> {
  // data[i] has sequence number base + i; entries before `head` are
  // acknowledged, those from `unsentAt` on have not gone out on this socket.
  private data: T[] = []
  private base = 1
  private head = 0
  private unsentAt = 0
  private heldBytes = 0

  /**
   * @param limit most messages held
   * @param byteLimit most bytes held, as `sizeOf` counts them
   */
  constructor(
    private readonly limit: number,
    private readonly byteLimit = Infinity,
    private readonly sizeOf: (data: T) => number = () => 0,
  ) {}

  /** Messages not yet acknowledged, sent or not. */
  get size(): number {
    return this.data.length - this.head
  }

  /** Bytes held, as `sizeOf` counts them. */
  get bytes(): number {
    return this.heldBytes
  }

  /** Messages waiting to go out on the current socket. */
  get unsent(): number {
    return this.data.length - this.unsentAt
  }

  /** Whether no further message fits. */
  get full(): boolean {
    return this.size >= this.limit || this.heldBytes >= this.byteLimit
  }

  /** Whether `data` fits: room for one more message and for its bytes. */
  accepts(data: T): boolean {
    return this.size < this.limit && this.heldBytes + this.sizeOf(data) <= this.byteLimit
  }

  /** Sequence number the next message gets. */
  get nextSeq(): number {
    return this.base + this.data.length
  }

  /** Numbers a message and keeps it, unsent; returns its number. */
  push(data: T): number {
    this.data.push(data)
    this.heldBytes += this.sizeOf(data)
    return this.nextSeq - 1
  }

  /** The next message to send, now counted as sent; undefined when all went out. */
  takeUnsent(): Entry<T> | undefined {
    if (this.unsentAt >= this.data.length) return undefined
    const index = this.unsentAt++
    return { seq: this.base + index, data: this.data[index] as T }
  }

  /** Forgets everything up to and including `ack`; costs what it acknowledges. */
  acknowledge(ack: number): void {
    const lastSent = this.base + this.unsentAt - 1
    if (ack > lastSent) throw new RangeError(`Acknowledgement ${ack} for a message never sent (last sent is ${lastSent})`)
    while (this.head < this.data.length && this.base + this.head <= ack) {
      this.heldBytes -= this.sizeOf(this.data[this.head] as T)
      this.data[this.head++] = undefined as T // let it go now, not at the next compaction
    }
    if (this.head > 1024 && this.head * 2 > this.data.length) this.compact()
  }

  /** A new socket: everything unacknowledged goes out again, oldest first. */
  rewind(): void {
    this.unsentAt = this.head
  }

  /** Unacknowledged messages, oldest first. */
  unacknowledged(): Entry<T>[] {
    const entries: Entry<T>[] = []
    for (let i = this.head; i < this.data.length; i++) entries.push({ seq: this.base + i, data: this.data[i] as T })
    return entries
  }

  /**
   * Removes the unacknowledged messages `test` picks and numbers the rest
   * again from the first unacknowledged number. Safe only while the peer has
   * delivered exactly what was acknowledged, as right after a welcome: none
   * of the renumbered messages has reached it. Returns what was removed.
   */
  drop(test: (data: T) => boolean): T[] {
    const removed: T[] = []
    const kept: T[] = []
    for (let i = this.head; i < this.data.length; i++) {
      const data = this.data[i] as T
      if (test(data)) {
        removed.push(data)
        this.heldBytes -= this.sizeOf(data)
      } else kept.push(data)
    }
    if (removed.length > 0) this.reset(this.base + this.head, kept)
    return removed
  }

  /**
   * Starts a new session: numbering restarts, messages that never went out
   * stay (to go out in the new session) and those that went out without an
   * acknowledgement are returned: whether they arrived cannot be known.
   */
  restart(): T[] {
    const unsure = this.data.slice(this.head, this.unsentAt)
    const unsent = this.data.slice(this.unsentAt)
    this.reset(1, unsent)
    return unsure
  }

  /** Refills the box from a saved session: `data` went out as `first`, `first + 1`, … */
  restore(first: number, data: readonly T[]): void {
    this.reset(first, [...data])
    this.unsentAt = this.data.length
  }

  /** Empties the box; returns what went out unacknowledged and what never went out. */
  clear(): { sent: T[]; unsent: T[] } {
    const sent = this.data.slice(this.head, this.unsentAt)
    const unsent = this.data.slice(this.unsentAt)
    this.reset(this.nextSeq, [])
    return { sent, unsent }
  }

  private reset(first: number, data: T[]): void {
    this.data = data
    this.base = first
    this.head = 0
    this.unsentAt = 0
    this.heldBytes = 0
    for (const d of data) this.heldBytes += this.sizeOf(d)
  }

  private compact(): void {
    this.data = this.data.slice(this.head)
    this.base += this.head
    this.unsentAt -= this.head
    this.head = 0
  }
}

/** Inbound sequence: delivers each message once, in order. */
export class Inbox {
  /** Highest sequence number delivered; what this side acknowledges. */
  delivered = 0

  /**
   * `'deliver'` for the next message, `'duplicate'` for one already
   * delivered (a resend after a reconnect). A gap cannot happen on an ordered
   * link with resends from the first unacknowledged message: it is a protocol error.
   */
  accept(seq: number): 'deliver' | 'duplicate' {
    if (seq <= this.delivered) return 'duplicate'
    if (seq !== this.delivered + 1) throw new RangeError(`Message ${seq} arrived before ${this.delivered + 1}`)
    this.delivered = seq
    return 'deliver'
  }

  reset(): void {
    this.delivered = 0
  }
}
