import { Outbox } from '../reliable/sequence.js'
import type { Client } from './client.js'
import { sizeOf, type Outbound, type SessionLimits } from './session.js'

/**
 * Admitted reliable clients that have not said hello yet, and what the
 * application sent them meanwhile (merged into their session at the
 * welcome, so greeting a client in the `connection` handler works).
 */
export class Greetings {
  private readonly waitingFor = new WeakSet<Client>()
  private readonly early = new WeakMap<Client, Outbox<Outbound>>()

  constructor(private readonly limits: SessionLimits) {}

  attach(client: Client): void {
    this.waitingFor.add(client)
    this.early.set(client, new Outbox(this.limits.maxMessages, this.limits.maxBytes, sizeOf))
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

  /** What waited for `client`'s welcome (or its departure), oldest first; the queue is gone after. */
  take(client: Client): Outbound[] {
    const messages = this.early.get(client)?.clear().unsent ?? []
    this.waitingFor.delete(client)
    this.early.delete(client)
    return messages
  }
}
