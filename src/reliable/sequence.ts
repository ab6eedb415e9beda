/**
 * The two halves of reliable delivery, as pure bookkeeping: what one side
 * sent and the other has not yet acknowledged, and what one side received.
 */

/** Outbound messages, numbered, kept until the peer acknowledges them. */
export class Outbox<T> {
  // Entries before `head` are acknowledged; the array is compacted now and
  // then instead of shifted on every acknowledgement.
  private entries: { seq: number; data: T; sent: boolean }[] = []
  private head = 0
  private next = 1

  constructor(private readonly limit: number) {}

  /** Messages sent and not yet acknowledged. */
  get size(): number {
    return this.entries.length - this.head
  }

  get full(): boolean {
    return this.size >= this.limit
  }

  /** Numbers a message and keeps it; returns the entry to mark `sent` once it went out. */
  push(data: T): { seq: number; data: T; sent: boolean } {
    const entry = { seq: this.next++, data, sent: false }
    this.entries.push(entry)
    return entry
  }

  /** Forgets everything up to and including `ack`. */
  acknowledge(ack: number): void {
    const sentUpTo = this.firstUnsent() - 1
    if (ack > sentUpTo) throw new RangeError(`Acknowledgement ${ack} for a message never sent (last sent is ${sentUpTo})`)
    while (this.head < this.entries.length && this.entries[this.head]!.seq <= ack) this.head++
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  /** Unacknowledged messages, oldest first: what to send again after a reconnect. */
  unacknowledged(): { seq: number; data: T; sent: boolean }[] {
    return this.entries.slice(this.head)
  }

  /**
   * Starts a new session: numbering restarts, messages that never went out
   * stay (to go out in the new session) and those that went out without an
   * acknowledgement are returned: whether they arrived cannot be known.
   */
  restart(): T[] {
    const pending = this.unacknowledged()
    const unsure = pending.filter((e) => e.sent).map((e) => e.data)
    this.entries = []
    this.head = 0
    this.next = 1
    for (const { data, sent } of pending) if (!sent) this.push(data)
    return unsure
  }

  /** Sequence number the next message gets. */
  get nextSeq(): number {
    return this.next
  }

  /** Refills an empty box from a saved session: `data` went out as `first`, `first + 1`, … */
  restore(first: number, data: readonly T[]): void {
    this.entries = data.map((d, i) => ({ seq: first + i, data: d, sent: true }))
    this.head = 0
    this.next = first + data.length
  }

  /** Empties the box and returns what was in it. */
  clear(): T[] {
    const left = this.unacknowledged().map((e) => e.data)
    this.entries = []
    this.head = 0
    return left
  }

  private firstUnsent(): number {
    for (let i = this.head; i < this.entries.length; i++) if (!this.entries[i]!.sent) return this.entries[i]!.seq
    return this.next
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
