// The one small interface every peer adapter gives the scenarios.

export interface Handlers {
  /** A connection (the first or a new one) is open. */
  open(): void
  /** A text message for the application (pongs a library swallows never come here). */
  message?(data: string): void
  /** The library told the application the link is gone (heartbeat timeout, close, disconnect). */
  down?(reason: string): void
}

export interface PeerClient {
  send(data: string): void
  /** Closes for good: no reconnect afterwards. */
  close(): void
}

/**
 * `common`: the comparable settings (1 s heartbeat and timeout, ~500 ms
 * reconnect); `defaults`: the library's own defaults (herd);
 * `cpu`: like common, and bare ws adds its hand-written heartbeat;
 * `server-driven`: like common, and lifeline lets the server ping (heartbeat.mode 'server').
 */
export type Mode = 'common' | 'defaults' | 'cpu' | 'server-driven'

export interface PeerAdapter {
  connect(port: number, handlers: Handlers, mode: Mode): PeerClient
}
