import type { CloseInfo } from '../types.js'
import type { ReconnectingWebSocketCloseEvent } from './types.js'

type CloseEventConstructor = new (type: 'close', init: CloseInfo) => ReconnectingWebSocketCloseEvent

// Node 20 has Event and MessageEvent but no CloseEvent.
class LifelineCloseEvent extends Event implements ReconnectingWebSocketCloseEvent {
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
  constructor(type: 'close', init: CloseInfo) {
    super(type)
    this.code = init.code
    this.reason = init.reason
    this.wasClean = init.wasClean
  }
}

const CloseEventClass: CloseEventConstructor = (globalThis as { CloseEvent?: CloseEventConstructor }).CloseEvent ?? LifelineCloseEvent

/** A `close` event: the platform's `CloseEvent` where there is one. */
export function closeEvent(info: CloseInfo): ReconnectingWebSocketCloseEvent {
  return new CloseEventClass('close', { code: info.code, reason: info.reason, wasClean: info.wasClean })
}

/** The event handler attributes a WebSocket has. */
export type HandlerType = 'open' | 'message' | 'error' | 'close'

type Handler = (this: EventTarget, event: Event) => unknown

/**
 * `onopen`, `onmessage`, `onerror`, `onclose` as the HTML standard defines
 * event handlers: a listener is added when a handler is first set and keeps
 * its place among the others while the handler changes; `null` (or anything
 * not callable) removes it.
 */
export class EventHandlers {
  private readonly handlers: Partial<Record<HandlerType, Handler>> = {}
  private readonly relays: Partial<Record<HandlerType, (event: Event) => void>> = {}

  constructor(private readonly target: EventTarget) {}

  get(type: HandlerType): Handler | null {
    return this.handlers[type] ?? null
  }

  set(type: HandlerType, value: unknown): void {
    const had = this.handlers[type] !== undefined
    if (typeof value !== 'function') {
      delete this.handlers[type]
      if (had) this.target.removeEventListener(type, this.relays[type]!)
      return
    }
    this.handlers[type] = value as Handler
    if (had) return
    const relay = (this.relays[type] ??= (event: Event) => void this.handlers[type]?.call(this.target, event))
    this.target.addEventListener(type, relay)
  }
}
