/**
 * lifeline-ws/inspector/node: `inspector()` for a Node process. Pass it as
 * a connection's `inspect` option and the connection shows up, live, in the
 * page of `npx lifeline-ws inspect` (a relay on 127.0.0.1). Every
 * connection of the process may share one; each shows in the page's picker.
 *
 * It never keeps the process alive (its socket and timers are unref'd), it
 * holds a bounded number of recent steps per connection (sent again when the
 * relay restarts), and it sends nothing while the relay is away.
 */
import type { ClientRequest } from 'node:http'
import { basename } from 'node:path'
import WebSocket from 'ws'
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { describe, invalid } from '../errors.js'
import { createConnection } from '../index.node.js'
import type { Clock, Connection } from '../types.js'
import { APP_PATH, DEFAULT_PORT, encode, type RelayMessage } from './protocol.js'
import { clockOf, stateJson, StepAssembler } from './recorder.js'
import type { Trace } from './trace.js'

/** Options of {@link inspector}. */
export interface NodeInspectorOptions {
  /** The relay's port on 127.0.0.1 (`npx lifeline-ws inspect --port`). @default 9797, or the LIFELINE_INSPECT_PORT environment variable */
  port?: number
  /** The relay's full URL; overrides `port`. @default `ws://127.0.0.1:<port>/app` */
  url?: string
  /** What the inspector page calls this process. @default the script's file name */
  name?: string
  /** Told when the relay cannot be reached (once per outage). @default a warning on stderr */
  onError?: (error: Error) => void
}

/** An XState inspection observer for the `inspect` option, with a way to let go of the relay. */
export type NodeInspector = ((event: InspectionEvent) => void) & {
  /** Stops sending; the relay link closes when no inspector uses it. */
  close(): void
}

/** Recent steps kept per connection, for a relay that comes (back) later. */
const KEPT_STEPS = 100
/** Connections followed at most; more are left out, with a warning. */
const MAX_TRACKED = 500

// Timers that never keep the process alive.
const unrefClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms)
    timer.unref()
    return timer
  },
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
}

// A ws socket that does not keep the process alive either: unref'd from the moment it exists, so
// a relay that accepts and never answers the upgrade (suspended with Ctrl-Z) holds nothing open.
class UnrefWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, {
      finishRequest: (request: ClientRequest) => {
        request.once('socket', (socket) => socket.unref())
        request.end()
      },
    })
  }
}

interface Tracked {
  id: string
  name: string
  actor: WeakRef<AnyActorRef>
  trace: Trace
  start: number
  now: () => number
  assembler: StepAssembler
}

/** One socket to the relay per URL, shared by every inspector of the process. */
class RelayLink {
  users = 0
  private readonly tracked = new Map<string, Tracked>()
  private readonly byActor = new WeakMap<AnyActorRef, Tracked>()
  private readonly connection: Connection
  private warned = false
  private count = 0
  private full = false

  constructor(url: string, private readonly name: string, onError: ((error: Error) => void) | undefined) {
    this.connection = createConnection({
      url,
      WebSocket: UnrefWebSocket,
      heartbeat: false,
      buffer: false,
      reconnect: { initialDelay: 500, maxDelay: 5_000 },
      clock: unrefClock,
      network: false,
      environment: false,
    })
    this.connection.on('open', () => {
      this.warned = false
      this.resend()
    })
    this.connection.on('error', (error) => {
      if (this.warned) return
      this.warned = true
      if (onError !== undefined) return onError(error)
      process.emitWarning(`lifeline inspector: cannot reach the relay at ${url} (start it with npx lifeline-ws inspect); retrying in the background`, { code: 'LIFELINE_INSPECTOR' })
    })
  }

  observe(event: InspectionEvent): void {
    const actor = event.actorRef as AnyActorRef
    // Only connections: the chart the page draws is the connection machine's.
    if ((actor as { logic?: { id?: unknown } }).logic?.id !== 'connection') return
    const tracked = this.byActor.get(actor) ?? this.track(actor)
    tracked?.assembler.observe(event)
  }

  private track(actor: AnyActorRef): Tracked | undefined {
    if (this.tracked.size >= MAX_TRACKED) {
      for (const [id, t] of this.tracked) if (t.actor.deref() === undefined) this.tracked.delete(id)
      if (this.tracked.size >= MAX_TRACKED) {
        if (!this.full) process.emitWarning(`lifeline inspector: following ${MAX_TRACKED} connections already; more are left out`, { code: 'LIFELINE_INSPECTOR' })
        this.full = true
        return undefined
      }
    }
    const now = clockOf(actor)
    const start = now()
    let snapshot: { value?: unknown; context?: unknown } | undefined
    try {
      snapshot = actor.getSnapshot() as typeof snapshot
    } catch {
      snapshot = undefined // not initialised yet: its first step is its start
    }
    const initial = snapshot?.value === undefined ? { value: '', context: {} } : stateJson(snapshot)
    const tracked: Tracked = {
      id: `${process.pid}:${actor.sessionId}`,
      name: `${this.name} · pid ${process.pid} · connection ${++this.count}`,
      actor: new WeakRef(actor),
      trace: { format: 'lifeline-trace', version: 1, machine: 'connection', startedAt: Date.now(), initial: { ...initial, timers: [] }, steps: [], dropped: 0 },
      start,
      now: () => now() - start,
      assembler: new StepAssembler(actor, () => now() - start, (step) => {
        const { steps } = tracked.trace
        steps.push(step)
        if (steps.length > KEPT_STEPS) {
          steps.shift()
          tracked.trace.dropped++
        }
        this.send({ type: 'lifeline.step', id: tracked.id, step })
        if ((actor.getSnapshot() as { status?: string }).status !== 'active') this.forget(tracked, 'stopped')
      }),
    }
    this.tracked.set(tracked.id, tracked)
    this.byActor.set(actor, tracked)
    this.send({ type: 'lifeline.actor', id: tracked.id, name: tracked.name, trace: tracked.trace, now: tracked.now() })
    return tracked
  }

  private forget(tracked: Tracked, status: 'stopped'): void {
    this.tracked.delete(tracked.id)
    this.send({ type: 'lifeline.status', id: tracked.id, status })
  }

  // After (re)connecting to the relay: every connection still alive, with its recent steps.
  private resend(): void {
    for (const tracked of [...this.tracked.values()]) {
      if (tracked.actor.deref() === undefined) {
        this.tracked.delete(tracked.id) // dropped without dispose() and collected
        continue
      }
      this.send({ type: 'lifeline.actor', id: tracked.id, name: tracked.name, trace: tracked.trace, now: tracked.now() })
    }
  }

  private send(message: RelayMessage): void {
    if (this.connection.state !== 'open') return
    try {
      this.connection.send(encode(message))
    } catch {
      // The socket went away between the check and the send: the next open sends everything again.
    }
  }

  dispose(): void {
    this.connection.dispose()
  }
}

const links = new Map<string, RelayLink>()

function relayUrl(options: NodeInspectorOptions): string {
  if (options.url !== undefined) {
    if (typeof options.url !== 'string' || !/^wss?:\/\//.test(options.url)) throw invalid('LIFELINE_INVALID_OPTION', `inspector() option url must be a ws:// or wss:// URL, got ${describe(options.url)}`)
    return options.url
  }
  const port = options.port ?? (process.env.LIFELINE_INSPECT_PORT === undefined ? DEFAULT_PORT : Number(process.env.LIFELINE_INSPECT_PORT))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('LIFELINE_INVALID_OPTION', `inspector() option port must be an integer from 1 to 65535, got ${describe(port)}`)
  return `ws://127.0.0.1:${port}${APP_PATH}`
}

/**
 * An inspection observer that streams every connection given it to the
 * local relay of `npx lifeline-ws inspect`:
 * `createConnection({ url, inspect: inspector() })`.
 */
export function inspector(options: NodeInspectorOptions = {}): NodeInspector {
  if (options.onError !== undefined && typeof options.onError !== 'function') throw invalid('LIFELINE_INVALID_OPTION', `inspector() option onError must be a function, got ${describe(options.onError)}`)
  const url = relayUrl(options)
  const name = options.name ?? basename(process.argv[1] ?? 'node')
  let link = links.get(url)
  if (link === undefined) {
    link = new RelayLink(url, name, options.onError)
    links.set(url, link)
  }
  const shared = link
  shared.users++
  let open = true
  let failed = false
  const observe = ((event: InspectionEvent) => {
    if (!open) return
    // Inspection runs inside the actor's step: nothing here may throw into the connection.
    try {
      shared.observe(event)
    } catch (error) {
      if (failed) return
      failed = true
      process.emitWarning(`lifeline inspector: could not record a step (${error instanceof Error ? error.message : String(error)})`, { code: 'LIFELINE_INSPECTOR' })
    }
  }) as NodeInspector
  observe.close = () => {
    if (!open) return
    open = false
    if (--shared.users === 0) {
      links.delete(url)
      shared.dispose()
    }
  }
  return observe
}

export type { ActorMessage, RelayMessage, StatusMessage, StepMessage } from './protocol.js'
export { DEFAULT_PORT } from './protocol.js'
