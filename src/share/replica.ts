/**
 * What every tab knows of the connection's sending, so that whichever tab
 * takes over goes on where the last leader stopped. Each tab keeps:
 *
 * - with reliable delivery, a copy of the session: its id, the last message
 *   delivered to the tabs, and the messages numbered and not yet
 *   acknowledged, with their numbers (the new leader's hello resumes the
 *   session, and it sends those again: nothing lost, nothing twice);
 * - per member, the last of its messages the connection took (numbered, or
 *   written to the socket in plain mode), so that a message a tab sends again
 *   to a new leader, not knowing whether the last one took it, goes out once.
 *
 * The leader changes it as its session does (see the journal in leader.ts)
 * and every tab applies the same changes from the channel.
 */
import type { Outbound, SessionState } from '../reliable/session.js'
import { MAX_MEMBERS, type ReplicaState } from './protocol.js'

/** Per member, the last message the connection took: bounded, the oldest members forgotten first. */
export class TakenMarks {
  private readonly marks = new Map<string, number>()

  /** The last message of `member` taken, 0 for none. */
  of(member: string): number {
    return this.marks.get(member) ?? 0
  }

  /** Notes that `member`'s message `id` was taken; returns false if it was already. */
  note(member: string, id: number): boolean {
    const last = this.marks.get(member) ?? 0
    if (id <= last) return false
    this.marks.delete(member)
    this.marks.set(member, id)
    if (this.marks.size > MAX_MEMBERS * 4) this.marks.delete(this.marks.keys().next().value as string)
    return true
  }

  /** Takes in what another tab knew. */
  merge(pairs: readonly [string, number][]): void {
    for (const [member, id] of pairs) this.note(member, id)
  }

  pairs(): [string, number][] {
    return [...this.marks]
  }
}

/** The shared reliable session, as one tab holds it. */
export class Replica {
  id: string | undefined
  established = false
  delivered = 0
  private first = 1
  private messages: Outbound[] = []
  private origins: (string | null)[] = []

  /** @param limit most messages held (the buffer's bound, twice over for what is in flight) */
  constructor(private readonly limit: number) {}

  /** The number the next message gets. */
  get next(): number {
    return this.first + this.messages.length
  }

  /** Messages numbered and not yet acknowledged. */
  get size(): number {
    return this.messages.length
  }

  /** How many of them `member` sent. */
  pendingOf(member: string): number {
    let count = 0
    for (const origin of this.origins) if (origin === member) count++
    return count
  }

  /**
   * Message `seq` was numbered. Returns false for one this copy cannot take:
   * known already, or beyond a gap (this tab missed some: it asks for the whole
   * state again), or over the bound.
   */
  numbered(seq: number, data: Outbound, origin: string | undefined): boolean {
    if (seq !== this.next || this.messages.length >= this.limit * 2) return false
    this.messages.push(data)
    this.origins.push(origin ?? null)
    return true
  }

  /** The server acknowledged everything up to `ack`. */
  acknowledge(ack: number): void {
    const count = Math.min(this.messages.length, ack - this.first + 1)
    if (count <= 0) return
    this.messages.splice(0, count)
    this.origins.splice(0, count)
    this.first += count
  }

  /** Message `seq` reached the tabs; false if it did already (a resend, or a late copy). */
  arrived(seq: number): boolean {
    if (seq <= this.delivered) return false
    this.delivered = seq
    return true
  }

  /** Replaces this copy with `state`, the leader's whole view. */
  replace(state: ReplicaState): void {
    this.id = state.id
    this.established = state.established
    this.delivered = state.delivered
    this.first = state.first
    this.messages = [...state.messages]
    this.origins = [...state.origins]
  }

  /**
   * The leader's session was numbered anew (`session` now): its messages are
   * some of those held here, in the same order, each keeping its sender.
   */
  renumber(session: SessionState): void {
    let at = 0
    const origins = session.messages.map((data) => {
      while (at < this.messages.length && this.messages[at] !== data) at++
      return at < this.messages.length ? this.origins[at++] ?? null : null
    })
    this.replace({ id: session.id, established: session.established, delivered: session.delivered, first: session.first, messages: session.messages, origins })
  }

  /** This copy as a message carries it; undefined before any session. */
  state(): ReplicaState | undefined {
    if (this.id === undefined) return undefined
    return { id: this.id, established: this.established, delivered: this.delivered, first: this.first, messages: [...this.messages], origins: [...this.origins] }
  }

  /** What a new leader's session adopts. */
  session(): SessionState | undefined {
    if (this.id === undefined) return undefined
    return { id: this.id, established: this.established, delivered: this.delivered, first: this.first, messages: [...this.messages] }
  }
}
