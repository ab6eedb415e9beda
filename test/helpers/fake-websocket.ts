/**
 * A scripted WebSocket. It exists so that tests of the adapter and the
 * model-based tests can play the server without a network: the test calls
 * `serverOpen()`, `serverMessage()`, `serverClose()` or `serverError()` and
 * the socket dispatches exactly the events a browser WebSocket would.
 *
 * Every instance is recorded in `FakeWebSocket.instances`, so a test can check
 * that the connection never holds two live sockets. To extend it, add a
 * server-side method that changes `readyState` and dispatches the event a real
 * socket would dispatch in that situation.
 */
export class FakeWebSocket extends EventTarget {
  static instances: FakeWebSocket[] = []

  static reset(): void {
    FakeWebSocket.instances = []
  }

  /** The most recently created socket. */
  static get last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1)
    if (socket === undefined) throw new Error('No FakeWebSocket was created')
    return socket
  }

  /** Sockets not yet closed or closing. */
  static live(): FakeWebSocket[] {
    return FakeWebSocket.instances.filter((s) => s.readyState < 2)
  }

  readyState = 0
  binaryType = 'blob'
  readonly sent: unknown[] = []
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = []

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    super()
    FakeWebSocket.instances.push(this)
  }

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error(`InvalidStateError: send() in readyState ${this.readyState}`)
    this.sent.push(data)
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason })
    if (this.readyState < 2) this.readyState = 2
  }

  serverOpen(): void {
    this.readyState = 1
    this.dispatchEvent(new Event('open'))
  }

  serverMessage(data: unknown): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }))
  }

  serverClose(code = 1006, reason = '', wasClean = false): void {
    this.readyState = 3
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean }))
  }

  serverError(message = 'connection refused'): void {
    this.dispatchEvent(Object.assign(new Event('error'), { message }))
  }
}

/** A network source whose status and events the test sets separately, so any event can be sent in any state. */
export class TestNetwork {
  online = true
  private listeners = new Set<(online: boolean) => void>()

  isOnline(): boolean {
    return this.online
  }

  subscribe(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(online: boolean): void {
    this.online = online
    for (const listener of [...this.listeners]) listener(online)
  }
}
