type Listener<T> = (event: T) => void

/**
 * Hands an error nobody listens for to the host: `reportError` in browsers
 * (the console and window `error` handlers see it), a process warning in Node.
 * Never a throw: one faulty listener must not end a process serving others.
 */
export function reportUnhandled(error: Error): void {
  const host = globalThis as { reportError?: (error: unknown) => void; process?: { emitWarning?: (error: Error) => void } }
  if (typeof host.reportError === 'function') host.reportError(error)
  else if (typeof host.process?.emitWarning === 'function') host.process.emitWarning(error)
  else console.error(error)
}

/**
 * A small typed emitter, shared by the client and the server. A listener that
 * throws does not stop the other listeners: its error becomes an `error`
 * event (or, failing that, goes to {@link reportUnhandled}).
 */
export class Emitter<Events extends { error: Error }> {
  private listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {}

  constructor(private readonly listenerFailed: (thrown: unknown, type: keyof Events, event: unknown) => Events['error']) {}

  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    // Copy on write: a listener may unsubscribe while its event is being emitted.
    // concat() sizes the copy exactly (a spread reserves room for 16 more); the
    // listener goes in wrapped, so that one marked concat-spreadable is not spread.
    const list = this.listeners[type]
    this.listeners[type] = list === undefined ? [listener] : list.concat([listener])
    return () => {
      const list = this.listeners[type]
      if (list) this.listeners[type] = list.filter((l) => l !== listener)
    }
  }

  has(type: keyof Events): boolean {
    return (this.listeners[type]?.length ?? 0) > 0
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const listeners = this.listeners
    const list = listeners[type]
    if (list === undefined) return
    for (const listener of list) {
      // A listener that cleared the emitter (dispose() from a listener) silences the rest.
      if (this.listeners !== listeners) return
      try {
        listener(event)
      } catch (thrown) {
        const error = this.listenerFailed(thrown, type, event)
        if (type === 'error') reportUnhandled(error)
        else this.report(error)
      }
    }
  }

  /**
   * Emits `error`. With no `error` listener, an error that concerns the
   * application (`surface`) goes to the host; one that only repeats what
   * other events already say (a peer's socket failing) is dropped.
   */
  report(error: Events['error'], surface = true): void {
    if (this.has('error')) this.emit('error', error)
    else if (surface) reportUnhandled(error)
  }

  clear(): void {
    this.listeners = {}
  }
}
