import { Outbox } from '../reliable/sequence.js'
import type { Client } from './client.js'
import { sizeOf, type Outbound, type SessionLimits } from './session.js'
import type { Delivery } from './reliable.js'
import type { SessionLostReason } from './types.js'

/**
 * Admitted reliable clients that have not said hello yet, and what the
 * application sent them meanwhile (merged into their session at the
 * welcome, so greeting a client in the `connection` handler works).
 *
 * A client that leaves before its welcome (a reconnect while its hello
 * waited on the store, a page closed at once) passes what it was sent on
 * to the next connection of its name: the one waiting now, or, if it comes
 * within `ttl`, the next one; what none takes is reported lost.
 */
export class Greetings {
  private readonly waitingFor = new WeakSet<Client>()
  private readonly early = new WeakMap<Client, Outbox<Outbound>>()
  // The newest client of each name that has not been welcomed.
  private readonly newest = new Map<string, Client>()
  // What a client that left before its welcome was sent, for its name's next connection.
  private readonly held = new Map<string, { messages: Outbound[]; timer: NodeJS.Timeout }>()

  constructor(
    private readonly limits: SessionLimits,
    private readonly ttl: number,
    private readonly lost: (name: string, messages: Outbound[], reason: SessionLostReason) => void,
  ) {}

  attach(client: Client): void {
    this.waitingFor.add(client)
    const queue = this.queueFor()
    this.early.set(client, queue)
    this.newest.set(client.name, client)
    const held = this.held.get(client.name)
    if (held === undefined) return
    clearTimeout(held.timer)
    this.held.delete(client.name)
    this.lost(client.name, fill(queue, held.messages), 'full')
  }

  /** Whether `client` has not said hello yet. */
  waiting(client: Client): boolean {
    return this.waitingFor.has(client)
  }

  /** A hello from `client`: true for its first one. */
  hello(client: Client): boolean {
    return this.waitingFor.delete(client)
  }

  /** Queues for a client that has not been welcomed; false when it is not one, or its queue is full. */
  queue(client: Client | undefined, data: Outbound): 'queued' | 'full' | 'none' {
    const queue = client === undefined ? undefined : this.early.get(client)
    if (queue === undefined) return 'none'
    if (!queue.accepts(data)) return 'full'
    queue.push(data)
    return 'queued'
  }

  /** What waited for `client`'s welcome, oldest first; the queue is gone after. */
  take(client: Client): Outbound[] {
    const messages = this.early.get(client)?.clear().unsent ?? []
    this.waitingFor.delete(client)
    this.early.delete(client)
    if (this.newest.get(client.name) === client) this.newest.delete(client.name)
    return messages
  }

  /**
   * `client` left before its welcome. What it was sent goes ahead of what
   * the name's newer waiting client was sent; without one, it is returned.
   */
  leave(client: Client): Outbound[] {
    const messages = this.take(client)
    const next = this.newest.get(client.name)
    const queue = next === undefined ? undefined : this.early.get(next)
    if (messages.length === 0 || next === undefined || queue === undefined) return messages
    const merged = this.queueFor()
    const full = fill(merged, messages)
    full.push(...fill(merged, queue.clear().unsent))
    this.early.set(next, merged)
    this.lost(client.name, full, 'full')
    return []
  }

  /** Keeps `messages` for the next connection of `name`, for at most `ttl`; reported lost after. */
  hold(name: string, messages: Outbound[]): void {
    if (messages.length === 0) return
    const held = this.held.get(name)
    clearTimeout(held?.timer)
    const queue = this.queueFor()
    const full = fill(queue, [...(held?.messages ?? []), ...messages])
    this.lost(name, full, 'full')
    const kept = queue.clear().unsent
    const timer = setTimeout(() => {
      this.held.delete(name)
      this.lost(name, kept, 'no-hello')
    }, this.ttl).unref()
    this.held.set(name, { messages: kept, timer })
  }

  /** Ends every hold: what was kept is reported lost with `reason`. */
  stop(reason: SessionLostReason): void {
    for (const [name, { messages, timer }] of this.held) {
      clearTimeout(timer)
      this.lost(name, messages, reason)
    }
    this.held.clear()
  }

  private queueFor(): Outbox<Outbound> {
    return new Outbox(this.limits.maxMessages, this.limits.maxBytes, sizeOf)
  }
}

/** Pushes what `queue` accepts, in order; returns the rest. */
function fill(queue: Outbox<Outbound>, messages: readonly Outbound[]): Outbound[] {
  const full: Outbound[] = []
  for (const data of messages) {
    if (queue.accepts(data)) queue.push(data)
    else full.push(data)
  }
  return full
}

/**
 * Sends each of `messages` on to `name` with `send`; what is refused is
 * reported lost, by reason, in one event each.
 */
export function sendOn(
  name: string,
  messages: readonly Outbound[],
  send: (data: Outbound) => Delivery,
  lost: (name: string, messages: Outbound[], reason: SessionLostReason) => void,
): void {
  const refused = new Map<SessionLostReason, Outbound[]>()
  for (const data of messages) {
    const delivery = send(data)
    if (delivery === 'sent') continue
    const reason = delivery === 'none' ? 'no-hello' : delivery === 'full' ? 'full' : 'too-large'
    refused.set(reason, [...(refused.get(reason) ?? []), data])
  }
  for (const [reason, data] of refused) lost(name, data, reason)
}
