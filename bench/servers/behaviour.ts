// What every bench server does, whatever its library: answer 'ping' with
// 'pong', push N messages on 'push:N' (the one-way hot path), echo the rest,
// and count its sockets so the bench can see duplicates and arrival times.
import { performance } from 'node:perf_hooks'
import { PAYLOAD } from '../settings.js'

/** Socket counts since `listen`; arrivals are ms after listening started. */
export class Tracker {
  open = 0
  maxOpen = 0
  total = 0
  readonly arrivals: number[] = []
  listenAt = performance.now()

  /** Records an arrival; the returned function records its departure (once). */
  connected(): () => void {
    this.open++
    this.total++
    this.maxOpen = Math.max(this.maxOpen, this.open)
    // Bounded: only the herd reads arrivals, and it has a few hundred.
    if (this.arrivals.length < 10_000) this.arrivals.push(performance.now() - this.listenAt)
    let left = false
    return () => {
      if (left) return
      left = true
      this.open--
    }
  }
}

/** The message a client sends to ask for `count` one-way messages. */
export const pushRequest = (count: number): string => `push:${count}`

/**
 * Answers one text message: 'pong' for 'ping', a push for 'push:N', else the
 * echo. Returns the number of messages to push (0 when none).
 */
export function respond(text: string, send: (data: string) => void): number {
  if (text === 'ping') {
    send('pong')
    return 0
  }
  if (text.startsWith('push:')) return Number(text.slice(5))
  send(text)
  return 0
}

/**
 * Sends `count` payloads in batches; `flush(last)` sends the batch's last one
 * and calls `last` once it has been written, so at most one batch waits in
 * user space and a slow client slows the server instead of filling its memory.
 */
export function push(count: number, send: (data: string) => void, sendLast: (data: string, written: () => void) => void): void {
  let sent = 0
  const batch = (): void => {
    const end = Math.min(count, sent + 1_000)
    while (sent < end - 1) {
      send(PAYLOAD)
      sent++
    }
    if (sent < count) {
      sent++
      sendLast(PAYLOAD, batch)
    }
  }
  batch()
}
