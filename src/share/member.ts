/**
 * A shared connection, as each tab holds it: a `Connection` whose socket may
 * be in another tab. Every member shows the leader's state and events
 * (mirrored from the channel), sends through the leader, and keeps each
 * message it sent until the leader says the connection took it, so that
 * a message the leader had not taken when it went is sent by the next one.
 * `close()` lets this tab go of the connection (its own view closes); the
 * socket closes when no tab wants it any more.
 */
import { checkCloseArguments, checkListener, checkSendData } from '../connection.js'
import { Emitter } from '../emitter.js'
import { invalid, LifelineError, messageOf, type LifelineErrorCode } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Connection, ConnectionEventMap, ConnectionStateName, SendData, ShareStatus, StateChangeReason, WebSocketConstructor } from '../types.js'
import { Election } from './election.js'
import { Leader, type LeaderKind } from './leader.js'
import { Mirror } from './mirror.js'
import { type Announcement, message, parseMessage, SHARE_VERSION, type ForwardedEvent, type ShareMessage } from './protocol.js'
import type { SharePlatform } from './platform.js'
import { Replica, TakenMarks } from './replica.js'

/** A new leader waits this long for what the last one said just before it went, unless it resigned. */
export const SETTLE_MS = 50
/** A leader hidden this long hands over to a visible tab (Chrome throttles such a tab's timers to once a minute). */
export const HIDDEN_HANDOVER_MS = 5 * 60_000
// The leader asks who still wants the connection every this many beats (a tab that crashed never says).
const RECOUNT_BEATS = 4

interface Outgoing {
  id: number
  data: SendData
  forwarded: boolean
}

const SOCKET_STATES = new Set<ConnectionStateName>(['connecting', 'reauthorizing', 'open', 'closing'])

// A copy, as WebSocket.send() takes its data at the call: the caller may reuse its buffer.
function copyOf(data: SendData): SendData {
  if (data instanceof ArrayBuffer) return data.slice(0)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  return data
}

function errorOf(code: string | undefined, text: string, messages: readonly unknown[]): Error {
  return code === undefined ? new Error(text) : new LifelineError(code as LifelineErrorCode, text, { messages })
}

export class SharedConnection implements Connection {
  readonly shared = true
  readonly member: string
  private readonly emitter = new Emitter<ConnectionEventMap>(
    (thrown, type) => new LifelineError('LIFELINE_LISTENER_FAILED', `A '${String(type)}' listener threw: ${messageOf(thrown)}`, { cause: thrown }),
  )
  private readonly key: string
  private readonly base: string
  private readonly election: Election
  private readonly mirror: Mirror
  private readonly replica: Replica | undefined
  private readonly taken = new TakenMarks()
  private readonly channel
  private readonly limit: number
  private leader: Leader | undefined
  private wants = false
  private view: ConnectionStateName = 'idle'
  private sharedState: ConnectionStateName | undefined
  private url = ''
  private outgoing: Outgoing[] = []
  private nextId = 1
  private wantLock: { release(): void; done: Promise<unknown> } | undefined
  private disposed = false
  private away = false
  // The last leader this tab took an announcement from.
  private synced: { leader: string; term: number } | undefined
  private resignedBy: string | undefined
  // A newer leader's words while this tab leads, kept until the lock manager says who holds the lock.
  private contested: ShareMessage[] = []
  private settlingAfter: string | undefined
  private handover = false
  private closingForReconnect = false
  private reconnecting = false
  private status: ShareStatus
  private readonly peers = new Map<string, boolean>()
  private beats = 0
  private timers: { settle?: unknown; hidden?: unknown } = {}
  private readonly unsubscribes: (() => void)[] = []

  constructor(
    private readonly options: ResolvedOptions,
    private readonly platform: SharePlatform,
    private readonly platformWebSocket: WebSocketConstructor | undefined,
  ) {
    this.key = options.share ?? ''
    this.member = platform.randomId()
    this.base = `lifeline-ws/share/${SHARE_VERSION}/${options.delivery}/${this.key}`
    this.limit = options.buffer ? options.buffer.maxMessages : 1_000
    this.replica = options.delivery === 'reliable' ? new Replica(this.limit) : undefined
    this.mirror = new Mirror({})
    this.status = { key: this.key, member: this.member, role: 'joining', leader: undefined }
    this.channel = platform.channel(this.base)
    this.channel.addEventListener('message', (event) => this.receive(parseMessage(event.data, this.limit * 2)))
    this.election = new Election(this.member, `${this.base}/leader`, platform, {
      elected: () => this.elected(),
      deposed: () => this.deposed(),
      beat: (term) => this.beat(term),
      probe: () => this.post('probe', {}),
      report: (error) => this.report(error),
    })
    if (platform.lifecycle) this.unsubscribes.push(platform.lifecycle((signal) => (signal === 'leave' ? this.leave() : this.return())))
    if (platform.visibility) this.unsubscribes.push(platform.visibility.subscribe(() => this.visibilityChanged()))
    this.join()
    if (options.autoConnect) this.open()
  }

  get state(): ConnectionStateName {
    return this.view
  }

  get buffered(): number {
    return this.outgoing.length + (this.replica?.pendingOf(this.member) ?? 0)
  }

  get actor(): Mirror['actor'] {
    return this.mirror.actor
  }

  get share(): ShareStatus {
    return this.status
  }

  open(): void {
    this.assertUsable('open')
    if (this.wants) {
      if (this.sharedState === 'failed') this.use(true)
      return
    }
    this.wants = true
    this.acquireWant()
    this.present('open', true)
  }

  close(code?: number, reason?: string): void {
    if (this.disposed) return
    checkCloseArguments(code, reason)
    if (!this.wants) return
    this.wants = false
    this.releaseWant({ code, reason })
    const before = this.view
    if (before === 'open') {
      this.setView('closing', 'close')
      queueMicrotask(() => {
        if (this.wants || this.disposed || this.view !== 'closing') return
        this.emitter.emit('close', { code: code ?? 1000, reason: reason ?? '', wasClean: true })
        this.setView('idle', 'socket-close')
      })
      return
    }
    if (before === 'connecting' || before === 'reauthorizing') this.emitter.emit('close', { code: code ?? 1000, reason: reason ?? '', wasClean: false })
    this.setView('idle', 'close')
  }

  reconnect(): void {
    this.assertUsable('reconnect')
    if (this.closingForReconnect) return
    if (!this.wants) return this.open()
    if (this.leader !== undefined) return this.leader.reconnect()
    const to = this.election.leader
    // No leader known (a takeover under way): asked of the next one, which opens a new socket anyway.
    if (to === undefined || this.synced?.leader !== to) this.reconnecting = true
    else this.post('command', { to, name: 'reconnect' })
  }

  send(data: SendData): void {
    this.assertUsable('send')
    checkSendData(data)
    if (this.replica !== undefined && typeof Blob !== 'undefined' && data instanceof Blob) {
      throw invalid('LIFELINE_INVALID_ARGUMENT', 'send() with delivery: reliable takes a string, ArrayBuffer or typed array, not a Blob (read it with blob.arrayBuffer() first)')
    }
    if (this.options.buffer === false && this.view !== 'open') {
      throw new LifelineError('LIFELINE_NOT_OPEN', `send() while the connection is ${this.view}: it sends only when open, and buffer is false`)
    }
    if (this.buffered >= this.limit) {
      if (this.replica !== undefined || (this.options.buffer && this.options.buffer.overflow === 'reject') || this.outgoing.length === 0) {
        throw new LifelineError('LIFELINE_BUFFER_FULL', `send() refused the message: ${this.buffered} of this tab's messages wait, the most buffer.maxMessages allows`, { messages: [data] })
      }
      const dropped = this.outgoing.shift()!
      this.report(new LifelineError('LIFELINE_BUFFER_OVERFLOW', `The buffer was full (buffer.maxMessages ${this.limit}); dropped the oldest message`, { messages: [dropped.data] }))
    }
    const entry: Outgoing = { id: this.nextId++, data: copyOf(data), forwarded: false }
    this.outgoing.push(entry)
    this.forward(entry)
  }

  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void {
    checkListener(type, listener)
    return this.emitter.on(type, listener)
  }

  dispose(): void {
    if (this.disposed) return
    const alone = this.leader !== undefined && this.peers.size === 0
    const unacknowledged = alone ? this.replica?.state()?.messages ?? [] : []
    this.leave()
    this.disposed = true
    this.view = 'idle'
    for (const unsubscribe of this.unsubscribes) unsubscribe()
    this.channel.close()
    this.mirror.stop()
    const never = this.outgoing.filter((o) => !o.forwarded).map((o) => o.data)
    const unsure = [...this.outgoing.filter((o) => o.forwarded).map((o) => o.data), ...unacknowledged]
    this.outgoing = []
    if (never.length > 0) {
      this.report(new LifelineError('LIFELINE_BUFFER_DISCARDED', `dispose() discarded ${never.length} message(s) that were never sent: they can safely be sent again`, { messages: never }))
    }
    if (unsure.length > 0) {
      this.report(new LifelineError('LIFELINE_UNACKNOWLEDGED_DISCARDED', `dispose() gave up on ${unsure.length} message(s) handed to the shared connection and not confirmed: they may or may not arrive`, { messages: unsure }))
    }
    this.emitter.clear()
  }

  private assertUsable(method: string): void {
    if (this.disposed) throw new LifelineError('LIFELINE_DISPOSED', `${method}() on a connection that was disposed`)
  }

  private report(error: unknown): void {
    this.emitter.report(error instanceof Error ? error : new Error(String(error)))
  }

  // Membership: the channel, the election, and this tab's wish for the connection.

  private join(): void {
    this.election.start()
    this.post('hello', { visible: this.platform.visibility?.isVisible() ?? true })
  }

  // The page goes (pagehide, freeze) or this connection is disposed: the lead passes on, the locks go.
  private leave(): void {
    if (this.away) return
    this.away = true
    if (this.leader !== undefined) this.resign(undefined)
    this.election.stop()
    this.wantLock?.release()
    this.wantLock = undefined
    this.post('bye', {})
    this.platform.clock.clearTimeout(this.timers.hidden)
    this.platform.clock.clearTimeout(this.timers.settle)
  }

  private return(): void {
    if (!this.away || this.disposed) return
    this.away = false
    this.join()
    if (this.wants) this.acquireWant()
  }

  private acquireWant(): void {
    if (this.wantLock !== undefined || this.away) return
    let release = (): void => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const lock = { release, done: Promise.resolve() as Promise<unknown> }
    this.wantLock = lock
    lock.done = this.platform.locks.request(`${this.base}/want/${this.member}`, { mode: 'exclusive' }, () => {
      if (this.wantLock === lock) this.use(true)
      return held
    }).catch((error: unknown) => this.report(error))
  }

  private releaseWant(closer: { code: number | undefined; reason: string | undefined }): void {
    const lock = this.wantLock
    this.wantLock = undefined
    if (lock === undefined) return
    lock.release()
    void lock.done.then(() => {
      if (!this.disposed) this.use(false, closer)
    })
  }

  private use(wants: boolean, closer?: { code: number | undefined; reason: string | undefined }): void {
    if (this.leader !== undefined) return this.leader.recount(wants, closer)
    this.post('use', { wants, code: closer?.code, reason: closer?.reason })
  }

  private forward(entry: Outgoing): void {
    if (this.leader !== undefined) {
      entry.forwarded = true
      return this.leader.accept(this.member, entry.id, entry.data)
    }
    const to = this.election.leader
    if (to === undefined || this.synced?.leader !== to || this.synced.term !== this.election.term) return
    entry.forwarded = true
    this.post('send', { to, id: entry.id, data: entry.data })
  }

  // Taken by the connection (numbered, or written to the socket): this tab need not keep it.
  private dropTaken(): void {
    const last = this.taken.of(this.member)
    while (this.outgoing.length > 0 && this.outgoing[0]!.id <= last) this.outgoing.shift()
  }

  private post<K extends ShareMessage['kind']>(kind: K, body: Omit<Extract<ShareMessage, { kind: K }>, 'lifeline' | 'v' | 'from' | 'kind'>): void {
    if (this.disposed) return
    try {
      this.channel.postMessage(message(this.member, kind, body as never))
    } catch (error) {
      this.report(error)
    }
  }

  // The election's side.

  private elected(): void {
    this.contested = []
    if (this.leader === undefined) {
      const previous = this.synced?.leader
      const leader = new Leader({
        member: this.member,
        options: this.options,
        platformWebSocket: this.platformWebSocket,
        replica: this.replica,
        taken: this.taken,
        publish: (kind, body) => this.publish(kind, body),
        clear: () => !this.election.suspect(),
        confirm: () => this.election.confirm(),
        wanted: () => this.wanted(),
        report: (error) => this.report(error),
      })
      this.leader = leader
      this.announce()
      // A leader that resigned told everything it knew; one that went silent may still have words on their way.
      if (previous === undefined || previous === this.member || this.resignedBy === previous) leader.start()
      else {
        this.settlingAfter = previous
        this.timers.settle = this.platform.clock.setTimeout(() => leader.start(), SETTLE_MS)
      }
    } else {
      this.announce()
    }
    this.forwardAll()
    if (this.platform.visibility?.isVisible() === false) this.visibilityChanged()
  }

  private deposed(): void {
    this.leader?.end()
    this.leader = undefined
    this.settlingAfter = undefined
    this.platform.clock.clearTimeout(this.timers.settle)
    this.platform.clock.clearTimeout(this.timers.hidden)
    this.updateStatus()
    // What the newer leader said while this tab still thought it led, now heard in order.
    const contested = this.contested
    this.contested = []
    for (const m of contested) this.receive(m)
  }

  private resign(to: string | undefined): void {
    const leader = this.leader
    if (leader === undefined) return
    const term = this.election.term
    this.leader = undefined
    leader.end()
    this.post('resign', { term, to, session: this.replica?.state(), taken: this.taken.pairs() })
    if (to !== undefined) this.election.resign(to)
    this.updateStatus()
  }

  private beat(term: number): void {
    this.post('beat', { term })
    if (++this.beats % RECOUNT_BEATS === 0) this.leader?.recount()
  }

  private async wanted(): Promise<boolean> {
    if (this.wants) return true
    const prefix = `${this.base}/want/`
    try {
      const state = await this.platform.locks.query()
      return state.held?.some((lock) => typeof lock.name === 'string' && lock.name.startsWith(prefix)) ?? false
    } catch (error) {
      this.report(error)
      return true
    }
  }

  private announce(): void {
    const leader = this.leader
    if (leader === undefined) return
    const body: Announcement = {
      term: this.election.term,
      holder: this.election.ownHolder,
      state: leader.state,
      step: leader.lastStep,
      url: leader.url,
      session: this.replica?.state(),
      taken: this.taken.pairs(),
    }
    this.post('lead', body)
    this.apply(message(this.member, 'lead', body))
  }

  private publish(kind: LeaderKind, body: Record<string, unknown>): void {
    const m = message(this.member, kind, { term: this.election.term, ...body } as never) as ShareMessage
    this.post(kind, m as never)
    this.apply(m)
  }

  private forwardAll(): void {
    for (const entry of this.outgoing) this.forward(entry)
  }

  private visibilityChanged(): void {
    const visible = this.platform.visibility?.isVisible() ?? true
    this.post('visible', { visible })
    this.platform.clock.clearTimeout(this.timers.hidden)
    if (visible || this.leader === undefined) return
    this.timers.hidden = this.platform.clock.setTimeout(() => {
      const to = [...this.peers].find(([, seen]) => seen)?.[0]
      if (to !== undefined && this.leader !== undefined) this.resign(to)
    }, HIDDEN_HANDOVER_MS)
  }

  private updateStatus(): void {
    const current = this.election.leader
    const leader = this.leader !== undefined ? this.member : current !== undefined && this.synced?.leader === current ? current : undefined
    const role = this.leader !== undefined ? 'leader' : leader !== undefined ? 'follower' : 'joining'
    if (role === this.status.role && leader === this.status.leader) return
    this.status = { key: this.key, member: this.member, role, leader }
    this.emitter.emit('share', this.status)
  }

  // What this tab shows.

  private setView(next: ConnectionStateName, reason: StateChangeReason): void {
    const previous = this.view
    if (previous === next) return
    this.view = next
    this.emitter.emit('state', { state: next, previous, reason })
  }

  // The view of a tab that wants the connection is the shared state; until there is one (or while it rests unwanted), connecting.
  private present(reason: StateChangeReason, announceOpen: boolean): void {
    if (!this.wants || this.disposed) return
    const shared = this.sharedState
    const next = shared === undefined || shared === 'idle' || shared === 'closing' ? 'connecting' : shared
    const previous = this.view
    this.setView(next, this.handover && next !== previous ? 'handover' : reason)
    if (next !== previous) this.handover = false
    if (announceOpen && next === 'open' && previous !== 'open') this.emitter.emit('open', { url: this.url })
  }

  // The channel's side.

  private receive(m: ShareMessage | undefined): void {
    if (m === undefined || this.disposed || this.away || m.from === this.member) return
    switch (m.kind) {
      case 'hello':
      case 'visible':
        this.peers.set(m.from, m.visible)
        if (m.kind === 'hello' && this.leader !== undefined) this.announce()
        return
      case 'bye':
        this.peers.delete(m.from)
        this.leader?.recount()
        return
      case 'probe':
        if (this.leader !== undefined) this.post('beat', { term: this.election.term })
        return
      case 'use':
        this.peers.set(m.from, this.peers.get(m.from) ?? true)
        return this.leader?.recount(m.wants, m.wants ? undefined : { code: m.code, reason: m.reason })
      case 'send':
        if (m.to === this.member) this.leader?.accept(m.from, m.id, m.data)
        return
      case 'command':
        if (m.to === this.member) this.leader?.reconnect()
        return
      case 'resign':
        return this.resigned(m)
      default:
        return this.fromLeader(m)
    }
  }

  private fromLeader(m: Extract<ShareMessage, { term: number }>): void {
    const holder = m.kind === 'lead' ? m.holder : undefined
    const heard = this.election.heard(m.from, m.term, holder)
    if (heard === 'current') return this.apply(m)
    if (heard === 'contested') {
      if (this.contested.length < this.limit * 4) this.contested.push(m)
      return
    }
    // A new leader waits for the last words of the one it follows: numbering and acknowledgements are facts.
    if (this.leader !== undefined && !this.leader.started && m.from === this.settlingAfter && (m.kind === 'out' || m.kind === 'ack' || m.kind === 'taken')) this.apply(m)
  }

  private resigned(m: Extract<ShareMessage, { kind: 'resign' }>): void {
    if (m.from !== this.election.leader || m.term !== this.election.term) return
    if (m.session !== undefined) this.replica?.replace(m.session)
    this.taken.merge(m.taken)
    this.resignedBy = m.from
    this.election.leaderGone()
    this.updateStatus()
    if (m.to === this.member) this.election.takeOver()
  }

  private apply(m: ShareMessage): void {
    switch (m.kind) {
      case 'lead':
        return this.synchronise(m.from, m)
      case 'beat':
        // A leader this tab has not heard announce itself: ask it to.
        if (this.synced?.leader !== m.from || this.synced.term !== m.term) this.post('hello', { visible: this.platform.visibility?.isVisible() ?? true })
        return
      case 'step':
        return this.mirror.apply(m.step)
      case 'event':
        return this.heardEvent(m.event)
      case 'message':
        if (this.replica !== undefined && m.seq !== undefined && !this.replica.arrived(m.seq)) return
        if (this.wants) this.emitter.emit('message', m.data)
        return
      case 'taken':
        this.taken.note(m.member, m.id)
        if (m.member === this.member) this.dropTaken()
        return
      case 'out':
        if (this.replica !== undefined && !this.replica.numbered(m.seq, m.data, m.member) && m.seq > this.replica.next) this.post('hello', { visible: true })
        if (m.member === undefined || m.id === undefined) return
        this.taken.note(m.member, m.id)
        if (m.member === this.member) this.dropTaken()
        return
      case 'ack':
        return this.replica?.acknowledge(m.ack)
      case 'session':
        return this.replica?.replace(m.session)
      case 'refused':
        return this.refused(m.member, m.id, m.code, m.text)
      default:
        return
    }
  }

  private synchronise(from: string, a: Announcement): void {
    const before = this.synced
    this.synced = { leader: from, term: a.term }
    this.taken.merge(a.taken)
    this.dropTaken()
    if (this.replica !== undefined && a.session !== undefined) this.replica.replace(a.session)
    if (a.step !== undefined) this.mirror.sync(a.step.value, a.step.context)
    this.url = a.url
    if (before !== undefined && (before.leader !== from || before.term !== a.term)) {
      // The socket this tab knew is gone with its leader.
      if (this.wants && this.sharedState !== undefined && SOCKET_STATES.has(this.sharedState)) this.emitter.emit('close', { code: 1006, reason: 'handover', wasClean: false })
      this.handover = true
    }
    this.sharedState = a.state
    this.updateStatus()
    this.present('open', true)
    if (before?.leader !== from || before.term !== a.term) this.forwardAll()
    if (this.reconnecting && from !== this.member) this.post('command', { to: from, name: 'reconnect' })
    this.reconnecting = false
  }

  private heardEvent(event: ForwardedEvent): void {
    switch (event.name) {
      case 'state':
        this.sharedState = event.state
        return this.present(event.reason, false)
      case 'open':
        this.url = event.url
        if (this.wants && this.view === 'open') this.emitter.emit('open', { url: event.url })
        return
      case 'error':
        if (this.wants) this.report(errorOf(event.code, event.message, event.messages))
        return
      default:
        if (!this.wants) return
    }
    switch (event.name) {
      case 'close': {
        const { name: _, ...info } = event
        // A reconnect() from this close's listeners asks for what is under way.
        this.closingForReconnect = info.reason === 'reconnect' && info.code === 1006
        try {
          this.emitter.emit('close', info)
        } finally {
          this.closingForReconnect = false
        }
        return
      }
      case 'heartbeat':
        return this.emitter.emit('heartbeat', event.heartbeat)
      case 'reconnect':
        return this.emitter.emit('reconnect', { attempt: event.attempt, delay: event.delay })
      case 'failed':
        return this.emitter.emit('failed', { reason: event.reason, attempts: event.attempts })
      case 'session-lost':
        return this.emitter.emit('session-lost', { lost: event.lost, messages: event.messages })
    }
  }

  private refused(member: string, id: number, code: string, text: string): void {
    this.taken.note(member, id)
    if (member !== this.member) return
    const index = this.outgoing.findIndex((o) => o.id === id)
    const data = index === -1 ? [] : this.outgoing.splice(index, 1).map((o) => o.data)
    this.dropTaken()
    this.report(errorOf(code, `The shared connection refused a message of this tab: ${text}`, data))
  }
}

