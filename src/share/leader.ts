/**
 * The leading tab's half: it owns the real connection (a connection of this
 * tab's own, created with the tab's options) and tells the others everything
 * it does: its statechart's steps (read through XState's inspection of its
 * own actor), its events, every message it receives, and, with reliable
 * delivery, every change to the session's numbering (its journal). It takes
 * the messages every member sends, in each member's order, once each.
 *
 * Everything it does passes one gate: a leader that stopped running for
 * longer than a lapse may have been replaced meanwhile, so what happens
 * then (a frame that arrived, a message to send) waits until the lock
 * manager says it still leads, and is dropped if it does not. Acknowledgements
 * go to the server only for messages the other tabs were told of.
 */
import type { InspectionEvent } from 'xstate'
import { createOwnedConnection } from '../connection.js'
import { LifelineError, messageOf } from '../errors.js'
import { contextJson } from '../inspector/json.js'
import type { ResolvedOptions } from '../options.js'
import type { Outbound, ReliableSession, SessionJournal } from '../reliable/session.js'
import type { Connection, ConnectionEventMap, SendData, WebSocketConstructor } from '../types.js'
import { MAX_MEMBERS, MAX_URL, type ForwardedEvent, type JsonObject, type ShareMessage, type StateValue, type Step, type StepAction } from './protocol.js'
import type { Replica, TakenMarks } from './replica.js'
import { adoptSession, exportSession } from './session-state.js'

/** What the leader needs from the member it runs in. */
export interface LeaderHost {
  readonly member: string
  readonly options: ResolvedOptions
  readonly platformWebSocket: WebSocketConstructor | undefined
  readonly replica: Replica | undefined
  readonly taken: TakenMarks
  /** Tells every member, this one included. */
  publish(kind: LeaderKind, body: Record<string, unknown>): void
  /** Whether this leader may act now; false: it waits for `confirm`, true: go on. */
  clear(): boolean
  confirm(): Promise<boolean>
  /** Whether any member wants the connection open (this one, or one holding its want lock). */
  wanted(): Promise<boolean>
  report(error: unknown): void
}

/** The kinds a leader publishes. */
export type LeaderKind = Extract<ShareMessage['kind'], 'lead' | 'step' | 'event' | 'message' | 'taken' | 'out' | 'ack' | 'session' | 'refused' | 'roll'>

interface Queued {
  member: string
  id: number
  data: SendData
}

const FORWARDED = ['state', 'open', 'close', 'heartbeat', 'reconnect', 'failed', 'session-lost', 'error'] as const

// Errors that belong to the tab whose code caused them, or to the leader's own teardown: never forwarded.
const LOCAL_ERRORS = new Set(['LIFELINE_LISTENER_FAILED', 'LIFELINE_BUFFER_DISCARDED', 'LIFELINE_UNACKNOWLEDGED_DISCARDED'])

function forward<K extends (typeof FORWARDED)[number]>(name: K, event: ConnectionEventMap[K]): ForwardedEvent | undefined {
  switch (name) {
    case 'state': {
      const { state, reason } = event as ConnectionEventMap['state']
      return { name: 'state', state, reason }
    }
    case 'open': {
      // A URL no browser takes (a connection of its own in Node takes any) goes unnamed rather than unheard.
      const { url } = event as ConnectionEventMap['open']
      return { name: 'open', url: url.length <= MAX_URL ? url : '' }
    }
    case 'close':
      return { name: 'close', ...(event as ConnectionEventMap['close']) }
    case 'heartbeat':
      return { name: 'heartbeat', heartbeat: event as ConnectionEventMap['heartbeat'] }
    case 'reconnect':
      return { name: 'reconnect', ...(event as ConnectionEventMap['reconnect']) }
    case 'failed':
      return { name: 'failed', ...(event as ConnectionEventMap['failed']) }
    case 'session-lost':
      return { name: 'session-lost', ...(event as ConnectionEventMap['session-lost']) }
    default: {
      const error = event as Error & { code?: unknown; messages?: unknown }
      const code = typeof error.code === 'string' ? error.code : undefined
      if (code !== undefined && LOCAL_ERRORS.has(code)) return undefined
      return { name: 'error', code, message: String(error.message), messages: Array.isArray(error.messages) ? error.messages : [] }
    }
  }
}

export class Leader {
  /** The last step of the statechart and the URL it opened, for the announcements. */
  lastStep: Step | undefined
  url = ''
  private inner: Connection | undefined
  private session: ReliableSession | undefined
  private queue: Queued[] = []
  private held: (() => void)[] = []
  private unsubscribes: (() => void)[] = []
  private microsteps: [string, string][] = []
  private actions: StepAction[] = []
  private sending: { member: string; id: number } | undefined
  private counting = 0
  private closer: { code: number | undefined; reason: string | undefined } = { code: undefined, reason: undefined }
  private ended = false

  constructor(private readonly host: LeaderHost) {}

  get started(): boolean {
    return this.inner !== undefined
  }

  /** The real connection's state; `idle` before it exists. */
  get state(): Connection['state'] {
    return this.inner?.state ?? 'idle'
  }

  /** Creates the real connection, resuming the shared session, and sends what waited. */
  start(): void {
    if (this.ended || this.inner !== undefined) return
    const { host } = this
    let owned: ReturnType<typeof createOwnedConnection>
    try {
      owned = createOwnedConnection({ ...host.options, share: undefined, autoConnect: false, inspect: this.inspector() }, host.platformWebSocket)
    } catch (error) {
      return host.report(error) // a network or environment source that throws: the tabs see the connection stay closed
    }
    const { connection, session } = owned
    this.inner = connection
    this.session = session
    if (session !== undefined && host.replica !== undefined) {
      const state = host.replica.session()
      if (state !== undefined) adoptSession(session, state)
      session.journal = this.journal(session, host.replica)
      this.publishSession(session, host.replica)
    }
    for (const name of FORWARDED) {
      this.unsubscribes.push(connection.on(name, ((event: ConnectionEventMap[typeof name]) => this.gate(() => {
        const forwarded = forward(name, event)
        if (forwarded?.name === 'open') this.url = forwarded.url
        if (forwarded !== undefined) host.publish('event', { event: forwarded })
        if (name === 'open') this.flush()
      })) as never))
    }
    if (session === undefined) this.unsubscribes.push(connection.on('message', (data) => this.gate(() => host.publish('message', { data, seq: undefined }))))
    this.flush()
    this.recount(true)
  }

  /** Member `member` sends its message `id`: once, in its order. */
  accept(member: string, id: number, data: SendData): void {
    this.gate(() => {
      const last = this.host.taken.of(member)
      // Taken already: the member missed the word, say it again.
      if (id <= last) return this.host.publish('taken', { member, id: last })
      if (this.queue.some((q) => q.member === member && q.id === id)) return
      const members = new Set(this.queue.map((q) => q.member))
      const maxMessages = this.host.options.buffer ? this.host.options.buffer.maxMessages : 1_000
      if ((!members.has(member) && members.size >= MAX_MEMBERS) || this.queued(member) >= maxMessages) {
        return this.refuse(member, id, new LifelineError('LIFELINE_BUFFER_FULL', `The leading tab holds ${maxMessages} unsent message(s) from this tab already`), false)
      }
      // In the member's order: an earlier message that comes late goes before the member's later ones.
      const later = this.queue.findIndex((q) => q.member === member && q.id > id)
      if (later === -1) this.queue.push({ member, id, data })
      else this.queue.splice(later, 0, { member, id, data })
      this.flush()
    })
  }

  /** A member's `reconnect()`. */
  reconnect(): void {
    this.gate(() => this.inner?.reconnect())
  }

  /**
   * Opens the connection if a member wants it and it rests (a failed one
   * only when `revive`: someone called open()), or closes it when nobody does.
   */
  recount(revive = false, closer?: { code: number | undefined; reason: string | undefined }): void {
    if (closer !== undefined) this.closer = closer
    const round = ++this.counting
    void this.host.wanted().then((wanted) => this.gate(() => {
      const inner = this.inner
      if (round !== this.counting || inner === undefined) return
      const state = inner.state
      if (wanted && (state === 'idle' || state === 'closing' || (revive && state === 'failed'))) return inner.open()
      if (!wanted && state !== 'idle' && state !== 'failed') {
        const { code, reason } = this.closer
        try {
          inner.close(code, reason)
        } catch (error) {
          this.host.report(error)
          inner.close()
        }
      }
    }))
  }

  /** Stops leading: the real connection goes (its socket closed at once); what it knew stays in the replica. */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.held = []
    for (const unsubscribe of this.unsubscribes) unsubscribe()
    this.unsubscribes = []
    if (this.session !== undefined) this.session.journal = undefined
    // What it gives up on is the members' to report: the replica keeps it, or its sender does.
    this.inner?.on('error', () => {})
    this.inner?.dispose()
  }

  /** Messages queued for the real connection, by whom. */
  queued(member: string): number {
    return this.queue.filter((q) => q.member === member).length
  }

  // `passed`: the connection went past it (the member's earlier messages were all taken); else they still wait, and count as not taken.
  private refuse(member: string, id: number, error: unknown, passed: boolean): void {
    if (passed) this.host.taken.note(member, id)
    const code = (error as { code?: unknown }).code
    this.host.publish('refused', { member, id, code: typeof code === 'string' ? code : 'LIFELINE_INVALID_ARGUMENT', text: messageOf(error) })
  }

  // Plain: only into an open socket (what waits stays with its sender until then). Reliable: numbered at once.
  private flush(): void {
    const inner = this.inner
    if (inner === undefined || this.ended) return
    while (this.queue.length > 0) {
      if (this.session === undefined && inner.state !== 'open') return
      const next = this.queue.shift()!
      this.sending = { member: next.member, id: next.id }
      try {
        inner.send(next.data)
        if (this.session === undefined) {
          this.host.taken.note(next.member, next.id)
          this.host.publish('taken', { member: next.member, id: next.id })
        }
      } catch (error) {
        this.refuse(next.member, next.id, error, true)
      } finally {
        this.sending = undefined
      }
    }
  }

  // What happens once this leader may have been replaced waits for the lock manager's word.
  private gate(run: () => void): void {
    if (this.ended) return
    if (this.held.length === 0 && this.host.clear()) return run()
    this.held.push(run)
    if (this.held.length > 1) return
    void this.host.confirm().then((still) => {
      const held = this.held
      this.held = []
      if (!still || this.ended) return
      for (const next of held) next()
    })
  }

  private journal(session: ReliableSession, replica: Replica): SessionJournal {
    const { host } = this
    return {
      sent: (seq: number, data: Outbound) => {
        const origin = this.sending
        if (origin !== undefined) host.taken.note(origin.member, origin.id)
        host.publish('out', { seq, data, member: origin?.member, id: origin?.id })
      },
      acknowledged: (ack: number) => this.gate(() => host.publish('ack', { ack })),
      delivered: (seq: number, data) => this.gate(() => host.publish('message', { data, seq })),
      renumbered: () => {
        replica.renumber(exportSession(session))
        this.publishSession(session, replica)
      },
      replicated: () => replica.delivered,
    }
  }

  private publishSession(session: ReliableSession, replica: Replica): void {
    const state = exportSession(session)
    const known = replica.state()
    const origins = known !== undefined && known.first === state.first && known.messages.length === state.messages.length ? known.origins : state.messages.map(() => null)
    this.host.publish('session', { session: { ...state, origins } })
  }

  // The statechart's steps, from XState's inspection of this connection's own actor.
  private inspector(): (event: InspectionEvent) => void {
    const given = this.host.options.inspect
    return (event) => {
      try {
        if (typeof given === 'function') given(event)
        else given?.next?.(event)
      } catch (error) {
        this.host.report(error)
      }
      if (event.actorRef !== this.inner?.actor) return
      if (event.type === '@xstate.action') {
        const { type, params } = event.action
        if (typeof type === 'string' && !type.startsWith('xstate.') && this.actions.length < 32) {
          this.actions.push(type === 'notifyState' && params !== undefined ? { type, params: contextJson(params) } : { type })
        }
      } else if (event.type === '@xstate.microstep') {
        const taken = (event as unknown as { _transitions?: { source: { id: string }; target?: { id: string }[] }[] })._transitions ?? []
        for (const t of taken) for (const target of t.target ?? []) if (this.microsteps.length < 16) this.microsteps.push([t.source.id, target.id])
      } else if (event.type === '@xstate.snapshot') {
        const snapshot = event.snapshot as { value?: unknown; context?: unknown }
        const raw = event.event as { type?: unknown }
        const step: Step = {
          event: { ...(contextJson(raw) as JsonObject), type: typeof raw.type === 'string' ? raw.type : 'unknown' },
          transitions: this.microsteps,
          actions: this.actions,
          value: snapshot.value as StateValue,
          context: contextJson(snapshot.context),
        }
        this.microsteps = []
        this.actions = []
        const previous = this.lastStep
        this.lastStep = step
        // An event the chart ignored changes nothing: no word about it.
        if (step.transitions.length === 0 && previous !== undefined && JSON.stringify(previous.context) === JSON.stringify(step.context)) return
        this.gate(() => this.host.publish('step', { step }))
      }
    }
  }
}
