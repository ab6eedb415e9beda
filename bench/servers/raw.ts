// The plain server must never be the bottleneck of the hot path, or every
// client would measure the same (its send path saturated one core while the
// clients idled at ~60%). So it writes small unmasked text frames itself,
// many per socket.write, straight to the TCP socket under ws: valid frames,
// whole frames per write, and nothing else writes while a client is measured.
import type { Socket } from 'node:net'
import type WebSocket from 'ws'

/** ws keeps the TCP socket in a private field; the bench reads it knowingly. */
export function tcpOf(socket: WebSocket): Socket {
  return (socket as unknown as { _socket: Socket })._socket
}

/** A server text frame (FIN, opcode 1, unmasked) for payloads under 126 bytes. */
export function textFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload])
}

/**
 * Collects frames and writes them in one `write` per event-loop turn:
 * what a batching server does, and what lets one server core keep up with
 * one client core.
 */
export class FrameBatcher {
  private pending: Buffer[] = []
  private scheduled = false

  constructor(private readonly tcp: Socket) {}

  add(frame: Buffer): void {
    this.pending.push(frame)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  flush(): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)
    this.pending = []
    if (!this.tcp.destroyed) this.tcp.write(chunk)
  }
}

/** Writes `count` copies of `frame`, 1,000 per write, each write waiting for the previous one (backpressure). */
export function pushFrames(tcp: Socket, frame: Buffer, count: number): void {
  const full = Buffer.concat(Array<Buffer>(Math.min(count, 1_000)).fill(frame))
  let left = count
  const next = (): void => {
    if (left <= 0 || tcp.destroyed) return
    const n = Math.min(left, 1_000)
    left -= n
    tcp.write(n === 1_000 ? full : full.subarray(0, n * frame.length), next)
  }
  next()
}
