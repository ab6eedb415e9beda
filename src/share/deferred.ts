/**
 * What the main entry holds of sharing: the check that the platform can
 * share, and a connection that stands in until the share code has loaded
 * (a chunk of its own, imported on demand). Calls made meanwhile are kept,
 * in order, and made on the shared connection once it exists; listeners
 * move to it. Where the chunk cannot be loaded, the tab gets a connection
 * of its own.
 */
import { createActor, type AnyActorRef } from 'xstate'
import { connectionMachine } from '../../machines/connection.machine.js'
import { LifelineError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Connection, ConnectionEventMap, ConnectionStateName, SendData, ShareStatus, WebSocketConstructor } from '../types.js'
import { checkCloseArguments, checkListener, checkSendData } from '../connection.js'

type Call = (connection: Connection) => void

interface Page {
  navigator?: { locks?: { request?: unknown; query?: unknown } }
  BroadcastChannel?: unknown
}

/** Whether this platform has what sharing needs: Web Locks and BroadcastChannel. */
export function canShare(page: Page = globalThis as Page): boolean {
  return typeof page.navigator?.locks?.request === 'function' && typeof page.navigator.locks.query === 'function' && typeof page.BroadcastChannel === 'function'
}

class DeferredConnection implements Connection {
  private target: Connection | undefined
  private calls: Call[] = []
  private listeners: { type: keyof ConnectionEventMap; listener: (event: unknown) => void; off?: () => void }[] = []
  private early: ConnectionStateName
  private queued = 0
  private placeholder: AnyActorRef | undefined
  private disposed = false

  constructor(private readonly options: ResolvedOptions, load: () => Promise<Connection>) {
    this.early = options.autoConnect ? 'connecting' : 'idle'
    load().then((connection) => this.settle(connection), (error: unknown) => this.settle(undefined, error))
  }

  private settle(connection: Connection | undefined, error?: unknown): void {
    if (connection === undefined) return void queueMicrotask(() => { throw error })
    if (this.disposed) return connection.dispose()
    this.target = connection
    for (const entry of this.listeners) entry.off = connection.on(entry.type, entry.listener as (event: ConnectionEventMap[keyof ConnectionEventMap]) => void)
    const calls = this.calls
    this.calls = []
    for (const call of calls) call(connection)
  }

  get shared(): boolean {
    return this.target?.shared ?? true
  }

  get share(): ShareStatus | undefined {
    return this.target === undefined ? { key: this.options.share ?? '', member: '', role: 'joining', leader: undefined } : this.target.share
  }

  get state(): ConnectionStateName {
    return this.target?.state ?? this.early
  }

  get buffered(): number {
    return this.target?.buffered ?? this.queued
  }

  // Until the shared connection exists, an idle statechart with nothing behind it: the mirror comes with it.
  get actor(): AnyActorRef {
    return this.target?.actor ?? (this.placeholder ??= createActor(connectionMachine, { input: { connectTimeout: 0, closeTimeout: 0, heartbeat: false, reconnect: false, maxAttempts: 1, initialDelay: 0 } }).start())
  }

  private later(method: string, call: Call): void {
    if (this.disposed) throw new LifelineError('LIFELINE_DISPOSED', `${method}() on a connection that was disposed`)
    if (this.target !== undefined) return call(this.target)
    this.calls.push(call)
  }

  open(): void {
    this.later('open', (c) => c.open())
    this.early = 'connecting'
  }

  close(code?: number, reason?: string): void {
    if (this.disposed) return
    checkCloseArguments(code, reason)
    this.later('close', (c) => c.close(code, reason))
    this.early = 'idle'
  }

  reconnect(): void {
    this.later('reconnect', (c) => c.reconnect())
    this.early = 'connecting'
  }

  send(data: SendData): void {
    checkSendData(data)
    if (this.target !== undefined) return this.target.send(data)
    const limit = this.options.buffer ? this.options.buffer.maxMessages : 0
    if (this.queued >= limit) throw new LifelineError('LIFELINE_BUFFER_FULL', `send() refused the message: ${this.queued} message(s) wait for the shared connection to start, the most buffer.maxMessages allows`, { messages: [data] })
    const copy = data instanceof ArrayBuffer ? data.slice(0) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() : data
    this.queued++
    this.later('send', (c) => {
      this.queued--
      c.send(copy)
    })
  }

  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void {
    checkListener(type, listener)
    if (this.target !== undefined) return this.target.on(type, listener)
    const entry: (typeof this.listeners)[number] = { type, listener: listener as (event: unknown) => void }
    this.listeners.push(entry)
    return () => {
      this.listeners = this.listeners.filter((e) => e !== entry)
      entry.off?.()
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    if (this.target !== undefined) return this.target.dispose()
    this.placeholder?.stop()
  }
}

/**
 * A shared connection for `options` (whose `share` is set), or undefined
 * where the platform cannot share: the caller then makes one of its own.
 */
export function deferredShare(options: ResolvedOptions, platformWebSocket: WebSocketConstructor | undefined, own: () => Connection): Connection | undefined {
  if (!canShare()) return undefined
  return new DeferredConnection(options, () => import('./index.js').then((share) => share.shareConnection(options, platformWebSocket) ?? own(), () => own()))
}
