import type WebSocket from 'ws'
import type { Client } from './client.js'

/** A live, read-only `name -> socket` view of the registry: callers can look, never write. */
class SocketsView implements ReadonlyMap<string, WebSocket> {
  constructor(private readonly byName: ReadonlyMap<string, Client>) {}

  get size(): number {
    return this.byName.size
  }

  get(name: string): WebSocket | undefined {
    return this.byName.get(name)?.socket
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  forEach(callback: (socket: WebSocket, name: string, map: ReadonlyMap<string, WebSocket>) => void, thisArg?: unknown): void {
    for (const [name, client] of this.byName) callback.call(thisArg, client.socket, name, this)
  }

  keys(): MapIterator<string> {
    return this.byName.keys()
  }

  *values(): MapIterator<WebSocket> {
    for (const client of this.byName.values()) yield client.socket
  }

  *entries(): MapIterator<[string, WebSocket]> {
    for (const [name, client] of this.byName) yield [name, client.socket]
  }

  [Symbol.iterator](): MapIterator<[string, WebSocket]> {
    return this.entries()
  }

  get [Symbol.toStringTag](): string {
    return 'HeartbeatServerClients'
  }
}

/**
 * Named clients, at most one per name. Removal compares identity, so a
 * replaced socket that closes late can never evict its successor (the bug of
 * the seed server, which removed whatever held the name).
 */
export class ClientRegistry {
  private readonly byName = new Map<string, Client>()
  readonly view: ReadonlyMap<string, WebSocket> = new SocketsView(this.byName)

  get(name: string): Client | undefined {
    return this.byName.get(name)
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** Registers `client` under its name; returns the client it displaced, if any. */
  put(client: Client): Client | undefined {
    const previous = this.byName.get(client.name)
    this.byName.set(client.name, client)
    return previous
  }

  /** Removes `client` if it is still the one registered under its name; returns whether it was. */
  remove(client: Client): boolean {
    if (this.byName.get(client.name) !== client) return false
    this.byName.delete(client.name)
    return true
  }

  values(): IterableIterator<Client> {
    return this.byName.values()
  }

  get size(): number {
    return this.byName.size
  }
}
