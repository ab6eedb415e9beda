import { Redis } from 'ioredis'
import type { ClusterMember, ReliableHook, ServerCluster } from '../server/cluster.js'
import { HeartbeatServerError, messageOf } from '../server/errors.js'
import type { ReliableContext } from '../server/reliable.js'
import type { Outbound } from '../server/session.js'
import type { DuplicatePolicy } from '../server/types.js'
import type { ResolvedRedisOptions } from './options.js'
import { BEAT, CLAIM, RELEASE, ROUTE, SWEEP } from './registry-scripts.js'
import { Script } from './script.js'
import { envelope, openEnvelope, type Envelope } from './wire.js'
import { RedisSessions } from './sessions.js'

/**
 * A lifeline cluster over one Redis: names in a hash, each node's liveness
 * in a sorted set of beats, messages between nodes on pub/sub. While Redis
 * is unreachable the node serves its own clients alone: claims fall back to
 * its own registry, cross-node sends return false, and the loss of the link
 * (and its return) is reported once each. When Redis is back, even empty,
 * the node claims its names again and its subscriptions come back.
 */
export class RedisCluster implements ServerCluster {
  readonly node: string
  readonly command: Redis
  private readonly subscriber: Redis
  private readonly keys: { nodes: string; names: string; channel: string; broadcast: string }
  private member: ClusterMember | undefined
  // Names this node holds, with the connection holding each: claimed again when Redis comes back.
  private readonly held = new Map<string, string>()
  private beats: NodeJS.Timeout | undefined
  // Names let go while Redis could not be told: released once it answers.
  private readonly releases = new Map<string, string>()
  // Whether this node has beaten yet: a beat that finds it missing after that means it was swept.
  private beaten = false
  private linkDown = false
  private leaving = false
  // Subscribed on the current subscriber connection: only then can other nodes reach this one.
  private subscribed = false
  private sessions: RedisSessions | undefined

  constructor(private readonly options: ResolvedRedisOptions) {
    this.node = options.node
    const prefix = options.prefix
    this.keys = { nodes: `${prefix}:nodes`, names: `${prefix}:names`, channel: `${prefix}:node:${this.node}`, broadcast: `${prefix}:broadcast` }
    const common = { commandTimeout: options.commandTimeout, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000) }
    // Commands fail at once while the link is down instead of waiting in a queue: a failure must be visible.
    this.command = new Redis(options.url, { ...common, enableOfflineQueue: false })
    // ioredis resubscribes only after it says 'ready'; this node subscribes itself and knows when it is done.
    this.subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true, autoResubscribe: false })
    for (const [role, redis] of [['commands', this.command], ['subscriptions', this.subscriber]] as const) {
      redis.on('error', (error: unknown) => this.lost(`${role}: ${messageOf(error)}`))
      // A closed connection is a lost link even before a command fails on it.
      redis.on('close', () => this.lost(`${role}: the connection closed`))
    }
    this.subscriber.on('close', () => (this.subscribed = false))
  }

  get ready(): boolean {
    return this.command.status === 'ready' && this.subscribed
  }

  async join(member: ClusterMember): Promise<void> {
    this.member = member
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.heard(message))
    this.subscriber.on('ready', () => void this.subscribe())
    this.command.on('ready', () => void this.arrived())
    this.beats = setInterval(() => void this.beat(), this.options.beatInterval).unref()
    const connecting = Promise.all([this.command.connect(), this.subscriber.connect()]).then(() => this.subscribe())
    // A node that cannot reach Redis at start serves alone until it can.
    const ok = await within(connecting, this.options.commandTimeout * 2)
    if (!ok) this.lost('no answer at start')
  }

  async leave(): Promise<void> {
    this.leaving = true
    clearInterval(this.beats)
    await this.sessions?.stop()
    if (this.ready) {
      await SWEEP.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.options.nodeTtl, this.node]).catch(() => {})
    }
    this.held.clear()
    await Promise.allSettled([this.command.quit(), this.subscriber.quit()])
    this.command.disconnect()
    this.subscriber.disconnect()
  }

  async claim(name: string, connection: string, policy: DuplicatePolicy): Promise<boolean> {
    if (!this.ready) {
      // Alone, this node's own registry decides: 'reject' still refuses a name it holds.
      if (policy === 'reject' && this.held.has(name)) return false
      this.held.set(name, connection)
      return true
    }
    try {
      const claimed = await CLAIM.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.node, this.holder(connection), name, policy, this.options.nodeTtl])
      if (claimed === 1) this.held.set(name, connection)
      return claimed === 1
    } catch (error) {
      this.failed(`could not claim "${name}" across the cluster; it is admitted by this node's registry alone`, error)
      if (policy === 'reject' && this.held.has(name)) return false
      this.held.set(name, connection)
      return true
    }
  }

  release(name: string, connection: string): void {
    if (this.held.get(name) !== connection) return
    this.held.delete(name)
    if (!this.ready) {
      this.releases.set(name, connection)
      return
    }
    RELEASE.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.node, this.holder(connection), name])
      .catch((error: unknown) => {
        this.releases.set(name, connection)
        this.failed(`could not release "${name}"; it is released when Redis answers again`, error)
      })
  }

  send(name: string, data: Outbound): boolean {
    if (!this.ready) return false
    ROUTE.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.node, name, envelope({ t: 'send', name }, data), this.options.nodeTtl])
      .then((routed) => {
        // The name is held here after all (a client that arrived meanwhile).
        if (routed === 2) this.member?.deliver(name, data)
        else if (routed === 0) {
          this.member?.report(new HeartbeatServerError('LIFELINE_NOT_DELIVERED', `A message for "${name}" was dropped: no live node holds that name`, { client: name }), false)
        }
      })
      .catch((error: unknown) => this.failed(`could not send to "${name}" across the cluster`, error))
    return true
  }

  broadcast(data: Outbound): boolean {
    if (!this.ready) return false
    this.command.publish(this.keys.broadcast, envelope({ t: 'broadcast', origin: this.node }, data))
      .catch((error: unknown) => this.failed('could not broadcast across the cluster', error))
    return true
  }

  reliable(context: ReliableContext): ReliableHook {
    this.sessions ??= new RedisSessions(this, this.options, context)
    return this.sessions
  }

  /** Publishes an envelope to another node's channel. */
  tell(node: string, header: Envelope): void {
    if (!this.ready) return
    this.command.publish(`${this.options.prefix}:node:${node}`, envelope(header)).catch((error: unknown) => this.failed(`could not reach node ${node}`, error))
  }

  /** Reports a failed cluster operation (the link being down is reported once, when it goes). */
  failed(what: string, error: unknown): void {
    if (!this.ready) return this.lost(messageOf(error))
    this.member?.report(new HeartbeatServerError('LIFELINE_CLUSTER_FAILED', `Cluster node ${this.node} ${what}: ${messageOf(error)}`, { cause: error }))
  }

  private holder(connection: string): string {
    return `${this.node} ${connection}`
  }

  private heard(raw: Buffer): void {
    const opened = openEnvelope(raw)
    if (opened === undefined || this.member === undefined) return
    const { header, data } = opened
    switch (header.t) {
      case 'send':
        if (data !== undefined) this.member.deliver(header.name, data)
        return
      case 'broadcast':
        if (data !== undefined && header.origin !== this.node) this.member.broadcast(data)
        return
      case 'evict':
        return this.member.evict(header.name, header.connection)
      case 'pump':
      case 'drop':
      case 'end':
        return this.sessions?.heard(header)
    }
  }

  private async beat(): Promise<void> {
    if (!this.ready || this.leaving) return
    try {
      const added = await BEAT.run(this.command, [this.keys.nodes], [this.options.prefix, this.node])
      if (added === 1 && this.beaten) {
        // Swept while stalled longer than nodeTtl: its names were released and its sessions taken. Claim again.
        this.member?.report(new HeartbeatServerError('LIFELINE_CLUSTER_FAILED', `Cluster node ${this.node} was stalled longer than nodeTtl (${this.options.nodeTtl} ms) and counted as dead; it claims its names again, and its reliable clients start over elsewhere`))
        this.beaten = true
        return void this.arrived(true)
      }
      this.beaten = true
      await this.releaseLeftovers()
      // Ended sessions are reported, then dead nodes are swept, with their names and the sessions they owned, in one script.
      await this.sessions?.sweep()
      await SWEEP.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.options.nodeTtl, ''])
    } catch (error) {
      this.failed('could not beat', error)
    }
  }

  /** Names let go while Redis could not be told. */
  private async releaseLeftovers(): Promise<void> {
    for (const [name, connection] of [...this.releases]) {
      this.releases.delete(name)
      await RELEASE.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.node, this.holder(connection), name])
        .catch((error: unknown) => {
          this.releases.set(name, connection)
          this.failed(`could not release "${name}"`, error)
        })
    }
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.keys.channel, this.keys.broadcast)
      this.subscribed = true
      await this.arrived()
    } catch (error) {
      this.failed('could not subscribe to its channels', error)
    }
  }

  /** Connected (again), both ways, or back from a stall: beat at once, and claim again every name this node holds. */
  private async arrived(swept = false): Promise<void> {
    if (this.leaving || !this.ready) return
    const returned = this.linkDown
    this.linkDown = false
    if (!swept) {
      try {
        await Script.loadAll(this.command)
      } catch (error) {
        this.failed('could not load its scripts', error)
      }
      await this.beat()
    }
    await this.releaseLeftovers()
    for (const [name, connection] of [...this.held]) {
      try {
        const claimed = await CLAIM.run(this.command, [this.keys.nodes, this.keys.names], [this.options.prefix, this.node, this.holder(connection), name, 'reject', this.options.nodeTtl])
        // Another node took the name while this one was cut off: the newer claim wins.
        if (claimed !== 1 && this.held.get(name) === connection) {
          this.held.delete(name)
          this.member?.evict(name, connection)
        }
      } catch (error) {
        this.failed(`could not claim "${name}" again`, error)
      }
    }
    await this.sessions?.arrived()
    if (returned) {
      this.member?.report(new HeartbeatServerError('LIFELINE_CLUSTER_FAILED', `Cluster node ${this.node} reached Redis again and claimed its ${this.held.size} name(s) anew`))
    }
  }

  private lost(why: string): void {
    if (this.linkDown || this.leaving) return
    this.linkDown = true
    this.member?.report(new HeartbeatServerError(
      'LIFELINE_CLUSTER_FAILED',
      `Cluster node ${this.node} lost Redis (${this.options.url}; ${why}): it serves its own clients alone; sends to other nodes return false until Redis is back`,
    ))
  }
}

async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
