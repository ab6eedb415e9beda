/**
 * A tab's place in its group: the channel, the election, the leader's role
 * when this tab has it, and what it hears from the leader when it has not.
 * What it hears goes to the tab's view (state and events), to the mirror of
 * the leader's statechart, to the replica of the shared session, and to the
 * tab's own messages (taken by the connection, or refused).
 */
import type { ResolvedOptions } from '../options.js'
import type { ShareStatus, WebSocketConstructor } from '../types.js'
import { BEAT_MS, Election } from './election.js'
import { Leader, type LeaderKind } from './leader.js'
import { Mirror } from './mirror.js'
import type { OwnMessages, Outgoing } from './own-messages.js'
import type { SharePlatform } from './platform.js'
import { type Announcement, MAX_MEMBERS, message, parseMessage, SHARE_VERSION, type ShareMessage } from './protocol.js'
import { Replica, TakenMarks } from './replica.js'
import type { TabView } from './view.js'

/** A new leader waits this long for what the last one said just before it went, unless it resigned. */
export const SETTLE_MS = 50
/** A leader hidden this long hands over to a visible tab that answers it (Chrome throttles such a tab's timers to once a minute). */
export const HIDDEN_HANDOVER_MS = 5 * 60_000
// The leader asks who still wants the connection every this many beats (a tab that crashed never says).
const RECOUNT_BEATS = 4

type Body<K extends ShareMessage['kind']> = Omit<Extract<ShareMessage, { kind: K }>, 'lifeline' | 'v' | 'from' | 'kind'>

/** What the group needs of the tab's connection. */
export interface GroupHost {
  readonly member: string
  readonly options: ResolvedOptions
  readonly platform: SharePlatform
  readonly platformWebSocket: WebSocketConstructor | undefined
  readonly view: TabView
  readonly own: OwnMessages
}

export class Group {
  /** The lock and channel names start with it. */
  readonly base: string
  readonly mirror = new Mirror({})
  readonly replica: Replica | undefined
  private readonly member: string
  private readonly election: Election
  private readonly taken = new TakenMarks()
  private readonly channel
  // The other members heard of (for `alone`).
  private readonly peers = new Set<string>()
  private readonly limit: number
  private leader: Leader | undefined
  private status: ShareStatus
  // The last leader this tab took an announcement from.
  private synced: { leader: string; term: number } | undefined
  private resignedBy: string | undefined
  private settlingAfter: string | undefined
  // A newer leader's words while this tab leads, kept until the lock manager says who holds the lock.
  private contested: ShareMessage[] = []
  private reconnecting = false
  // No leader is known (the last one went silent past its probe, resigned, or this tab was deposed) until one announces itself.
  private lost = false
  private beats = 0
  private timers: { settle?: unknown; hidden?: unknown; announce?: unknown } = {}
  private announcedAt = Number.NEGATIVE_INFINITY
  // A leader hidden long enough asked which tabs are visible: the first to say so (alive, then) takes over.
  private rolling = false
  private closed = false
  // Between leave() and join(): the page went (it may come back from the cache); it hears nothing.
  private away = false

  constructor(private readonly host: GroupHost) {
    const { options, platform } = host
    this.member = host.member
    this.base = `lifeline-ws/share/${SHARE_VERSION}/${options.delivery}/${options.share ?? ''}`
    this.limit = options.buffer ? options.buffer.maxMessages : 1_000
    this.replica = options.delivery === 'reliable' ? new Replica(this.limit) : undefined
    this.status = { key: options.share ?? '', member: this.member, role: 'joining', leader: undefined }
    this.channel = platform.channel(this.base)
    this.channel.addEventListener('message', (event) => this.receive(parseMessage(event.data, this.limit * 2)))
    this.election = new Election(this.member, `${this.base}/leader`, platform, {
      elected: () => this.elected(),
      deposed: () => this.deposed(),
      beat: (term) => this.beat(term),
      probe: () => this.post('probe', {}),
      lapsed: () => this.leaderLost(),
      report: (error) => host.view.report(error),
    })
  }

  get share(): ShareStatus {
    return this.status
  }

  /** Whether this tab leads and has heard of no other member (its messages would go with it). */
  get alone(): boolean {
    return this.leader !== undefined && this.peers.size === 0
  }

  /** Joins: asks for the lock, says hello. */
  join(): void {
    this.away = false
    this.election.start()
    this.post('hello', { visible: this.visible() })
  }

  /** Leaves: a leader hands over what it knew first; the lock goes. */
  leave(): void {
    if (this.leader !== undefined) this.resign(undefined)
    this.election.stop()
    this.post('bye', {})
    this.away = true
    this.clearTimers()
  }

  private clearTimers(): void {
    const { clock } = this.host.platform
    for (const timer of Object.values(this.timers)) clock.clearTimeout(timer)
    this.timers = {}
  }

  /** Disposed: nothing more is heard or said. */
  close(): void {
    this.closed = true
    this.clearTimers()
    this.channel.close()
    this.mirror.stop()
  }

  /** This tab wants the connection (`open()`: revive a failed one too), or let go of it, with its close code and reason. */
  use(wants: boolean, closer?: { code: number | undefined; reason: string | undefined }): void {
    if (this.leader !== undefined) return this.leader.recount(wants, closer)
    this.post('use', { wants, code: closer?.code, reason: closer?.reason })
  }

  reconnect(): void {
    if (this.leader !== undefined) return this.leader.reconnect()
    const to = this.election.leader
    // No leader known (a takeover under way): asked of the next one, which opens a new socket anyway.
    if (to === undefined || this.lost || this.synced?.leader !== to) this.reconnecting = true
    else this.post('command', { to, name: 'reconnect' })
  }

  /** Hands one of this tab's messages to the leader, if there is one to hand it to. */
  forward(entry: Outgoing): void {
    if (this.leader !== undefined) {
      entry.forwarded = true
      return this.leader.accept(this.member, entry.id, entry.data)
    }
    const to = this.election.leader
    if (to === undefined || this.lost || this.synced?.leader !== to || this.synced.term !== this.election.term) return
    entry.forwarded = true
    this.post('send', { to, id: entry.id, data: entry.data })
  }

  visibilityChanged(): void {
    const visible = this.visible()
    const { clock } = this.host.platform
    this.post('visible', { visible })
    clock.clearTimeout(this.timers.hidden)
    this.rolling = false
    if (visible || this.leader === undefined) return
    this.timers.hidden = clock.setTimeout(() => {
      if (this.leader === undefined) return
      // Only a tab that answers now is known to be alive (a crashed one never said goodbye).
      this.rolling = true
      this.publish('roll', {})
    }, HIDDEN_HANDOVER_MS)
  }

  private visible(): boolean {
    return this.host.platform.visibility?.isVisible() ?? true
  }

  private post<K extends ShareMessage['kind']>(kind: K, body: Body<K>): void {
    if (this.closed) return
    try {
      this.channel.postMessage(message(this.member, kind, body as never))
    } catch (error) {
      this.host.view.report(error)
    }
  }

  // Leading.

  private elected(): void {
    this.contested = []
    const { host } = this
    if (this.leader === undefined) {
      const previous = this.synced?.leader
      const leader = new Leader({
        member: this.member,
        options: host.options,
        platformWebSocket: host.platformWebSocket,
        replica: this.replica,
        taken: this.taken,
        publish: (kind, body) => this.publish(kind, body),
        clear: () => !this.election.suspect(),
        confirm: () => this.election.confirm(),
        wanted: () => this.wanted(),
        report: (error) => host.view.report(error),
      })
      this.leader = leader
      this.announce()
      // A leader that resigned told everything it knew; one that went silent may still have words on their way.
      if (previous === undefined || previous === this.member || this.resignedBy === previous) leader.start()
      else {
        this.settlingAfter = previous
        this.timers.settle = host.platform.clock.setTimeout(() => leader.start(), SETTLE_MS)
      }
    } else {
      this.announce()
    }
    if (!this.visible()) this.visibilityChanged()
  }

  private deposed(): void {
    this.leader?.end()
    this.leader = undefined
    this.rolling = false
    this.settlingAfter = undefined
    this.clearTimers()
    this.updateStatus()
    // What the newer leader said while this tab still thought it led, now heard in order.
    for (const m of this.contested.splice(0)) this.receive(m)
    if (this.status.role === 'joining') this.leaderLost()
  }

  private resign(to: string | undefined): void {
    const leader = this.leader
    if (leader === undefined) return
    this.rolling = false
    const term = this.election.term
    this.leader = undefined
    leader.end()
    this.post('resign', { term, to, session: this.replica?.state(), taken: this.taken.pairs() })
    if (to !== undefined) this.election.resign(to)
    this.leaderLost(to !== undefined) // leaving: the status says so, the view has nothing more to show
  }

  private beat(term: number): void {
    this.post('beat', { term })
    if (++this.beats % RECOUNT_BEATS === 0) this.leader?.recount()
  }

  // Whether any tab wants the connection: this one, or one holding its want lock.
  private async wanted(): Promise<boolean> {
    if (this.host.view.wants) return true
    const prefix = `${this.base}/want/`
    try {
      const state = await this.host.platform.locks.query()
      return state.held?.some((lock) => typeof lock.name === 'string' && lock.name.startsWith(prefix)) ?? false
    } catch (error) {
      this.host.view.report(error)
      return true
    }
  }

  // A hello is answered by the next announcement, at most one a beat: a flood of them (or many tabs at once) gets one.
  private announceSoon(): void {
    if (this.leader === undefined || this.timers.announce !== undefined) return
    const { clock } = this.host.platform
    const wait = this.announcedAt + BEAT_MS - clock.now()
    if (wait <= 0) return this.announce()
    this.timers.announce = clock.setTimeout(() => {
      this.timers.announce = undefined
      this.announce()
    }, wait)
  }

  private announce(): void {
    const leader = this.leader
    if (leader === undefined) return
    this.announcedAt = this.host.platform.clock.now()
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

  // Told to every member, this one included.
  private publish(kind: LeaderKind, body: Record<string, unknown>): void {
    const m = message(this.member, kind, { term: this.election.term, ...body } as never) as ShareMessage
    this.post(kind, m as never)
    this.apply(m)
  }

  // A copy: what the leader takes while this runs leaves the list.
  private forwardAll(): void {
    for (const entry of [...this.host.own.all()]) this.forward(entry)
  }

  // The tab shows connecting and joining until the next leader announces itself: the last one's socket is gone.
  private leaderLost(show = true): void {
    if (this.leader !== undefined || this.lost) return
    this.lost = true
    this.updateStatus()
    if (show) this.host.view.leaderLost()
  }

  private updateStatus(): void {
    const current = this.lost ? undefined : this.election.leader
    const leader = this.leader !== undefined ? this.member : current !== undefined && this.synced?.leader === current ? current : undefined
    const role = this.leader !== undefined ? 'leader' : leader !== undefined ? 'follower' : 'joining'
    if (role === this.status.role && leader === this.status.leader) return
    this.status = { key: this.status.key, member: this.member, role, leader }
    this.host.view.emitter.emit('share', this.status)
  }

  // Hearing.

  private receive(m: ShareMessage | undefined): void {
    if (m === undefined || this.closed || this.away || m.from === this.member) return
    switch (m.kind) {
      case 'hello':
      case 'visible':
        this.seen(m.from)
        if (m.kind === 'hello') this.announceSoon()
        if (m.visible && this.rolling && this.leader !== undefined) this.resign(m.from)
        return
      case 'bye':
        this.peers.delete(m.from)
        this.leader?.recount()
        return
      case 'probe':
        if (this.leader !== undefined) this.post('beat', { term: this.election.term })
        return
      case 'use':
        this.seen(m.from)
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

  // Bounded, whoever posts: the longest silent forgotten first.
  private seen(member: string): void {
    this.peers.delete(member)
    this.peers.add(member)
    if (this.peers.size > MAX_MEMBERS) this.peers.delete(this.peers.values().next().value as string)
  }

  private fromLeader(m: Extract<ShareMessage, { term: number }>): void {
    const heard = this.election.heard(m.from, m.term, m.kind === 'lead' ? m.holder : undefined)
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
    this.leaderLost()
    if (m.to === this.member) this.election.takeOver()
  }

  private apply(m: ShareMessage): void {
    const { view, own } = this.host
    switch (m.kind) {
      case 'lead':
        return this.synchronise(m.from, m)
      case 'beat':
        // A leader this tab has not heard announce itself (or thought lost): ask it to.
        if (this.lost || this.synced?.leader !== m.from || this.synced.term !== m.term) this.post('hello', { visible: this.visible() })
        return
      case 'step':
        return this.mirror.apply(m.step)
      case 'event':
        return view.heard(m.event)
      case 'message':
        if (this.replica !== undefined && m.seq !== undefined && !this.replica.arrived(m.seq)) return
        return view.message(m.data)
      case 'taken':
        return this.took(m.member, m.id)
      case 'out':
        if (this.replica !== undefined && !this.replica.numbered(m.seq, m.data, m.member) && m.seq > this.replica.next) this.post('hello', { visible: this.visible() })
        if (m.member !== undefined && m.id !== undefined) this.took(m.member, m.id)
        return
      case 'ack':
        return this.replica?.acknowledge(m.ack)
      case 'roll':
        if (m.from !== this.member && this.visible()) this.post('visible', { visible: true })
        return
      case 'session':
        return this.replica?.replace(m.session)
      case 'refused':
        // That message only: the sender's earlier ones may still wait at the leader.
        if (m.member === this.member) view.reportCode(m.code, `The shared connection refused a message of this tab: ${m.text}`, own.refused(m.id))
        return
      default:
        return
    }
  }

  // The connection took `member`'s message `id`: numbered or written.
  private took(member: string, id: number): void {
    this.taken.note(member, id)
    if (member === this.member) this.host.own.takenUpTo(this.taken.of(this.member))
  }

  private synchronise(from: string, a: Announcement): void {
    const before = this.synced
    const fresh = before?.leader !== from || before.term !== a.term || this.lost
    this.synced = { leader: from, term: a.term }
    this.lost = false
    this.taken.merge(a.taken)
    this.host.own.takenUpTo(this.taken.of(this.member))
    if (this.replica !== undefined && a.session !== undefined) this.replica.replace(a.session)
    // Before anything reaches the application's listeners: a message one of them sends comes after the tab's earlier ones.
    if (fresh) this.forwardAll()
    if (a.step !== undefined) this.mirror.sync(a.step.value, a.step.context)
    this.updateStatus()
    this.host.view.announced(a.state, a.url, before !== undefined && fresh)
    if (this.reconnecting && from !== this.member) this.post('command', { to: from, name: 'reconnect' })
    this.reconnecting = false
  }
}
