/**
 * What the main entry holds of sharing: the check that the platform can
 * share, and a stand-in connection until the share code (a chunk of its own,
 * imported on demand) has made the shared one. Calls made meanwhile, and
 * listeners added, are passed on to it in order.
 */
import { createActor, type AnyActorRef } from 'xstate'
import { connectionMachine } from '../../machines/connection.machine.js'
import { checkCloseArguments, checkListener, checkSendData } from '../connection.js'
import { Emitter } from '../emitter.js'
import { LifelineError, messageOf } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Connection, ConnectionEventMap, ConnectionStateName, SendData, ShareStatus, WebSocketConstructor } from '../types.js'
import { OwnMessages } from './own-messages.js'

type Call = (connection: Connection) => void

/** What the share code gave: a connection, and why it is not a shared one, if it fell back. */
interface Loaded {
  connection: Connection
  fallback?: unknown
}

interface Page {
  navigator?: { locks?: { request?: unknown; query?: unknown } }
  BroadcastChannel?: unknown
}

/** Whether this platform has what sharing needs: Web Locks and BroadcastChannel. */
export function canShare(page: Page = globalThis as Page): boolean {
  const locks = page.navigator?.locks
  return typeof locks?.request === 'function' && typeof locks.query === 'function' && typeof page.BroadcastChannel === 'function'
}

/** The stand-in: exported for its tests only. */
export class DeferredConnection implements Connection {
  private target: Connection | undefined
  private calls: Call[] = []
  private early: ConnectionStateName
  // What send() was given meanwhile, taken by the rules of the connection it stands for (buffer false, its bound, drop-oldest).
  private readonly waiting: OwnMessages
  private disposed = false
  private placeholder: AnyActorRef | undefined
  // The stand-in's own word (a message dropped, a call that threw, why it fell back): heard by the error listeners added through it.
  private readonly errors = new Emitter<{ error: Error }>(
    (thrown) => new LifelineError('LIFELINE_LISTENER_FAILED', `An 'error' listener threw: ${messageOf(thrown)}`, { cause: thrown }),
  )

  constructor(private readonly options: ResolvedOptions, load: Promise<Loaded>) {
    this.early = options.autoConnect ? 'connecting' : 'idle'
    this.waiting = new OwnMessages(options)
    void load.then(
      ({ connection, fallback }) => {
        this.target = connection
        // One call that throws (what only the connection could tell) is reported; the later ones are still made.
        for (const call of this.calls.splice(0)) {
          try {
            call(connection)
          } catch (error) {
            this.errors.report(error instanceof Error ? error : new Error(String(error)))
          }
        }
        if (fallback !== undefined) this.errors.report(fallback instanceof Error ? fallback : new Error(String(fallback)))
      },
      (error: unknown) => this.errors.report(error instanceof Error ? error : new Error(String(error))),
    )
  }

  private run(call: Call, method?: string): void {
    if (method !== undefined && this.disposed) throw new LifelineError('LIFELINE_DISPOSED', `${method}() on a connection that was disposed`)
    if (this.target === undefined) this.calls.push(call)
    else call(this.target)
  }

  /** True until the share code says otherwise: false once the tab fell back to a connection of its own. */
  get shared(): boolean {
    return this.target?.shared ?? true
  }

  get state(): ConnectionStateName {
    return this.target?.state ?? (this.disposed ? 'idle' : this.early)
  }

  get buffered(): number {
    return this.target?.buffered ?? this.waiting.size
  }

  get share(): ShareStatus | undefined {
    return this.target === undefined ? { key: this.options.share!, member: '', role: 'joining', leader: undefined } : this.target.share
  }

  // An idle chart until the shared connection brings its own (the mirror of the leader's).
  get actor(): AnyActorRef {
    return this.target?.actor ?? (this.placeholder ??= createActor(connectionMachine, { input: {} as never }))
  }

  open(): void {
    this.run((c) => c.open(), 'open')
    this.early = 'connecting'
  }

  close(code?: number, reason?: string): void {
    if (this.disposed) return
    checkCloseArguments(code, reason)
    this.run((c) => c.close(code, reason))
    this.early = 'idle'
  }

  reconnect(): void {
    this.run((c) => c.reconnect(), 'reconnect')
    this.early = 'connecting'
  }

  send(data: SendData): void {
    checkSendData(data)
    if (this.target !== undefined || this.disposed) return this.run((c) => c.send(data), 'send')
    const entry = this.waiting.add(data, this.state, 0, (dropped) => this.errors.report(dropped))
    this.run((c) => {
      // In order: every earlier one went, or was dropped to make room (and said so).
      if (this.waiting.all()[0] !== entry) return
      this.waiting.takenUpTo(entry.id)
      c.send(entry.data)
    })
  }

  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void {
    checkListener(type, listener)
    const offs: (() => void)[] = []
    let gone = false
    // The stand-in's own errors reach it at once (a message dropped to make room, as send() returns).
    if (type === 'error') offs.push(this.errors.on('error', listener as (error: Error) => void))
    this.run((c) => void (gone || offs.push(c.on(type, listener))))
    return () => {
      gone = true
      for (const off of offs.splice(0)) off()
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.run((c) => c.dispose())
  }
}

/**
 * A shared connection for `options` (whose `share` is set), or undefined
 * where the platform cannot share: the caller then makes one of its own, as
 * it does if the share code cannot be loaded.
 */
export function deferredShare(options: ResolvedOptions, platformWebSocket: WebSocketConstructor | undefined, own: () => Connection): Connection | undefined {
  if (!canShare()) return undefined
  const fallBack = (fallback: unknown): Loaded => ({ connection: own(), fallback })
  const load = import('./index.js').then(
    (share) => share.shareConnection(options, platformWebSocket).then((shared): Loaded => (shared === undefined ? { connection: own() } : { connection: shared }), fallBack),
    (error: unknown) => fallBack(new Error(`share: the share code could not be loaded (${messageOf(error).slice(0, 200)}): this tab has a connection of its own`, { cause: error })),
  )
  return new DeferredConnection(options, load)
}
