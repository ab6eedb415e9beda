/**
 * What one tab shows of a shared connection: its state and its events. A tab
 * that wants the connection shows the leader's state (connecting until there
 * is one to show) and hears its events; one that let go (`close()`) is idle
 * and hears nothing. Its own `close()` plays out here, as a socket's close
 * would: `closing`, the `close` event, `idle`.
 */
import { Emitter } from '../emitter.js'
import { LifelineError, messageOf, type LifelineErrorCode } from '../errors.js'
import type { CloseInfo, ConnectionEventMap, ConnectionStateName, StateChangeReason } from '../types.js'
import type { ForwardedEvent } from './protocol.js'

// States in which the leader holds a socket, which a handover ends.
const SOCKET_STATES = new Set<ConnectionStateName>(['connecting', 'reauthorizing', 'open', 'closing'])

function errorOf(code: string | undefined, text: string, messages: readonly unknown[]): Error {
  return code === undefined ? new Error(text) : new LifelineError(code as LifelineErrorCode, text, { messages })
}

export class TabView {
  readonly emitter = new Emitter<ConnectionEventMap>(
    (thrown, type) => new LifelineError('LIFELINE_LISTENER_FAILED', `A '${String(type)}' listener threw: ${messageOf(thrown)}`, { cause: thrown }),
  )
  /** Whether this tab wants the connection (it opened it and has not closed it). */
  wants = false
  /** True while the `close` of a socket dropped by `reconnect()` is emitted: a `reconnect()` from its listeners asks for what is under way. */
  closingForReconnect = false
  private view: ConnectionStateName = 'idle'
  // The leader's state, as last heard; undefined before any leader.
  private shared: ConnectionStateName | undefined
  private url = ''
  private handover = false
  private ended = false

  get state(): ConnectionStateName {
    return this.view
  }

  /** The leader's state is failed: `open()` should revive it. */
  get failed(): boolean {
    return this.shared === 'failed'
  }

  report(error: unknown): void {
    this.emitter.report(error instanceof Error ? error : new Error(String(error)))
  }

  /** A refused message or an error from the leader, as this tab's `error` event. */
  reportCode(code: string | undefined, text: string, messages: readonly unknown[]): void {
    this.report(errorOf(code, text, messages))
  }

  /** `open()`: this tab wants the connection. */
  want(): void {
    this.wants = true
    this.present('open', true)
  }

  /** `close()`: this tab lets go, as a socket would close. */
  letGo(code: number | undefined, reason: string | undefined): void {
    this.wants = false
    const before = this.view
    if (before === 'open') {
      this.set('closing', 'close')
      queueMicrotask(() => {
        if (this.wants || this.ended || this.view !== 'closing') return
        this.emitter.emit('close', { code: code ?? 1000, reason: reason ?? '', wasClean: true })
        this.set('idle', 'socket-close')
      })
      return
    }
    if (before === 'connecting' || before === 'reauthorizing') this.emitter.emit('close', { code: code ?? 1000, reason: reason ?? '', wasClean: false })
    this.set('idle', 'close')
  }

  /** A leader announced itself; `changed`: another one than before, whose socket is not the one this tab knew. */
  announced(state: ConnectionStateName, url: string, changed: boolean): void {
    this.url = url
    if (changed) {
      if (this.wants && this.shared !== undefined && SOCKET_STATES.has(this.shared)) this.emitter.emit('close', { code: 1006, reason: 'handover', wasClean: false })
      this.handover = true
    }
    this.shared = state
    this.present('open', true)
  }

  /** No leader is known: its socket is gone, as a handover closes it; connecting until the next one announces itself. */
  leaderLost(): void {
    if (this.shared === undefined) return
    if (this.wants && SOCKET_STATES.has(this.shared)) this.emitter.emit('close', { code: 1006, reason: 'handover', wasClean: false })
    this.shared = undefined
    this.handover = true
    this.present('handover', false)
  }

  /** A message the leader passed on. */
  message(data: ConnectionEventMap['message']): void {
    if (this.wants) this.emitter.emit('message', data)
  }

  /** An event the leader's connection emitted. */
  heard(event: ForwardedEvent): void {
    switch (event.name) {
      case 'state':
        this.shared = event.state
        return this.present(event.reason, false)
      case 'open':
        this.url = event.url
        if (this.wants && this.view === 'open') this.emitter.emit('open', { url: event.url })
        return
      case 'error':
        if (this.wants) this.reportCode(event.code, event.message, event.messages)
        return
    }
    if (!this.wants) return
    switch (event.name) {
      case 'close':
        return this.closed({ code: event.code, reason: event.reason, wasClean: event.wasClean })
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

  /** Disposed: idle, and nothing more to hear. */
  end(): void {
    this.ended = true
    this.view = 'idle'
  }

  private closed(info: CloseInfo): void {
    this.closingForReconnect = info.reason === 'reconnect' && info.code === 1006
    try {
      this.emitter.emit('close', info)
    } finally {
      this.closingForReconnect = false
    }
  }

  private set(next: ConnectionStateName, reason: StateChangeReason): void {
    const previous = this.view
    if (previous === next) return
    this.view = next
    this.emitter.emit('state', { state: next, previous, reason })
  }

  // The view of a tab that wants the connection is the shared state; until there is one (or while it rests unwanted), connecting.
  private present(reason: StateChangeReason, announceOpen: boolean): void {
    if (!this.wants || this.ended) return
    const shared = this.shared
    const next = shared === undefined || shared === 'idle' || shared === 'closing' ? 'connecting' : shared
    const previous = this.view
    this.set(next, this.handover && next !== previous ? 'handover' : reason)
    if (next !== previous) this.handover = false
    if (announceOpen && next === 'open' && previous !== 'open') this.emitter.emit('open', { url: this.url })
  }
}
