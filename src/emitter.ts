type Listener<T> = (event: T) => void

/**
 * A small typed event emitter. A listener that throws does not stop the other
 * listeners or the connection: its error is rethrown on a microtask, as a DOM
 * EventTarget reports it, so it still reaches the host's error handling.
 */
export class Emitter<Events extends object> {
  private listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {}

  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    // Copy on write: a listener may unsubscribe while its event is being emitted.
    this.listeners[type] = [...(this.listeners[type] ?? []), listener]
    return () => {
      const list = this.listeners[type]
      if (list) this.listeners[type] = list.filter((l) => l !== listener)
    }
  }

  has(type: keyof Events): boolean {
    return (this.listeners[type]?.length ?? 0) > 0
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const list = this.listeners[type]
    if (list === undefined) return
    for (const listener of list) {
      try {
        listener(event)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  clear(): void {
    this.listeners = {}
  }
}
