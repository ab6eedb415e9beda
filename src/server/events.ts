import { HeartbeatServerError, messageOf } from './errors.js'
import type { HeartbeatServerEventMap } from './types.js'

type Listener<T> = (event: T) => void

/**
 * The server's typed emitter. Unlike the client's, a throwing listener is not
 * rethrown: in Node an uncaught throw ends the process, and with it every
 * other client. It becomes an `error` event; with no `error` listener (or one
 * that throws too) it becomes a process warning, so it is never lost.
 */
export class ServerEmitter<Events extends { error: HeartbeatServerError } = HeartbeatServerEventMap> {
  private listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {}

  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    // Copy on write: a listener may unsubscribe while its event is being emitted.
    this.listeners[type] = [...(this.listeners[type] ?? []), listener]
    return () => {
      const list = this.listeners[type]
      if (list) this.listeners[type] = list.filter((l) => l !== listener)
    }
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const list = this.listeners[type]
    if (list === undefined) return
    for (const listener of list) {
      try {
        listener(event)
      } catch (thrown) {
        const error = new HeartbeatServerError(
          'LIFELINE_LISTENER_FAILED',
          `A '${String(type)}' listener threw: ${messageOf(thrown)}`,
          { cause: thrown, client: clientOf(event) },
        )
        if (type === 'error') process.emitWarning(error)
        else this.report(error, true)
      }
    }
  }

  /**
   * Emits `error`. A fault in the application's own code (`mustSurface`)
   * with nobody listening becomes a process warning; a misbehaving client
   * needs no warning, its `disconnect` event already says so.
   */
  report(error: HeartbeatServerError, mustSurface = false): void {
    if (this.listeners.error?.length) this.emit('error', error as Events['error'])
    else if (mustSurface) process.emitWarning(error)
  }

  clear(): void {
    this.listeners = {}
  }
}

function clientOf(event: unknown): string | undefined {
  if (event instanceof HeartbeatServerError) return event.client
  const name = (event as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}
