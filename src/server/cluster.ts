import type { HeartbeatServerError } from './errors.js'
import type { ConnectionHook } from './hooks.js'
import type { Delivery, ReliableContext } from './reliable.js'
import type { Client } from './client.js'
import type { Outbound } from './session.js'
import type { DuplicatePolicy } from './types.js'

/** What a server offers the cluster it joins. */
export interface ClusterMember {
  /** A message for one of this node's clients, sent from another node. */
  deliver(name: string, data: Outbound): void
  /** A broadcast from another node, for this node's clients. */
  broadcast(data: Outbound): void
  /** Another node took `name`: the local client on `connection` must go (closed with 4409). */
  evict(name: string, connection: string): void
  /**
   * Something the cluster could not do, for the server's `error` event;
   * `surface: false` for what only concerns those listening (a message for
   * a name nobody holds: plain `send()` returns false for those too).
   */
  report(error: HeartbeatServerError, surface?: boolean): void
}

/**
 * Reliable delivery as a cluster provides it: the same hook the server runs
 * for one process, with sessions kept where every node can reach them.
 */
export interface ReliableHook extends ConnectionHook {
  /** `forwarded`: it came from another node, which found no session for `name` (so only a client here that has not said hello can take it). */
  send(name: string, data: Outbound, client: Client | undefined, forwarded?: boolean): Delivery
  /** The largest frame `name`'s client accepts, when known here. */
  limitOf(name: string): number | undefined
  /** Names with a session this node can send to without asking the cluster. */
  names(): Iterable<string>
  /** Sends to every session in the cluster, and to `clients` of this node that have not said hello; returns how many of this node's clients it reached. */
  broadcast?(data: Outbound, clients: Iterable<Client>): number
}

/**
 * Several server processes as one: a registry of names across them, sends
 * and broadcasts that reach a client wherever it is connected, and
 * (optionally) reliable sessions every node can resume. `lifeline-ws/redis`
 * implements it over Redis; the server only talks to this interface.
 */
export interface ServerCluster {
  /** Joins with this node's callbacks; resolves once the node can take clients. */
  join(member: ClusterMember): Promise<void>
  /** Leaves: this node's names are released and its messages stop. */
  leave(): Promise<void>
  /**
   * Claims `name` for a new connection on this node. `'reject'`: false when
   * it is connected on a live node already. `'replace'`: the node that held
   * it evicts its client. Resolves false, too, when the claim cannot be made.
   */
  claim(name: string, connection: string, policy: DuplicatePolicy): Promise<boolean>
  /** The connection that held `name` on this node is gone. */
  release(name: string, connection: string): void
  /** Sends to `name` on whichever node holds it; false when the cluster cannot take the message now. */
  send(name: string, data: Outbound): boolean
  /** Sends to every client on every other node; false when the cluster cannot take the message now. */
  broadcast(data: Outbound): boolean
  /** Reliable delivery whose sessions live in the cluster, when it offers that. */
  reliable?(context: ReliableContext): ReliableHook
}
