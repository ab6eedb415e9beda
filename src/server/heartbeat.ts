import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { heardPong, type Client } from './client.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import type { ConnectionHook } from './hooks.js'
import type { ResolvedServerHeartbeat } from './options.js'
import type { InboundData } from './types.js'

/**
 * Every write the server makes to a client, heartbeat frames included: one
 * that leaves more than `maxBufferedBytes` unsent lets the client go as a
 * slow consumer. Returns whether the client is still served.
 */
export type Write = (client: Client, data: string | Buffer) => boolean

/**
 * The default probe of {@link HeartbeatMonitor}: a WebSocket ping frame
 * carrying 8 random bytes of its own to each client. Only a pong that echoes
 * them proves life, so a client cannot look alive by sending pongs it was
 * never asked for, nor by replaying another client's. The bytes of a whole
 * sweep come from one random block (one call, one buffer): a buffer per
 * client per ping was 0.6 KB of every client's heap.
 */
export function pingFrames(checkBuffer: (client: Client) => boolean): (client: Client) => boolean {
  let block = Buffer.alloc(0)
  let used = 0
  return (client) => {
    if (used + 8 > block.length) {
      block = randomBytes(1_024)
      used = 0
    }
    client.pingNonce = block
    client.pingOffset = used
    client.socket.ping(block.subarray(used, used + 8))
    used += 8
    return checkBuffer(client)
  }
}

/** The probe of server-driven mode: an application ping the client answers (and watches for). */
export function sendApplicationPing(
  ping: ResolvedServerHeartbeat['ping'],
  report: (error: HeartbeatServerError) => void,
  write: Write,
): (client: Client) => boolean {
  return (client) => {
    let frame: unknown
    try {
      frame = typeof ping === 'function' ? ping(client.name) : ping
    } catch (thrown) {
      report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `heartbeat.ping failed for client "${client.name}": ${messageOf(thrown)}`, { cause: thrown, client: client.name }))
      return false
    }
    if (frame === null) return false
    if (typeof frame !== 'string' && !Buffer.isBuffer(frame)) {
      report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `heartbeat.ping for client "${client.name}" returned ${typeof frame}; expected a string, a Buffer or null`, { client: client.name }))
      return false
    }
    return write(client, frame)
  }
}

/**
 * Finds clients that went silent, with one timer for all of them: a timer
 * per client costs a timer object and a wake-up each. Every `interval` each
 * client is checked, then probed. Only the answer to a probe proves life (a
 * WebSocket pong, or the application pong in server mode): a client that
 * sends but never reads must not look alive while the server buffers for it.
 * A client is dead once it left a probe unanswered and no answer came for
 * `timeout`; requiring the unanswered probe keeps a healthy idle client
 * alive even when `timeout` is shorter than `interval`.
 */
export class HeartbeatMonitor implements ConnectionHook {
  private readonly clients = new Set<Client>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly settings: Pick<ResolvedServerHeartbeat, 'interval' | 'timeout'>,
    private readonly onDead: (client: Client) => void,
    private readonly probe: (client: Client) => boolean,
  ) {}

  attach(client: Client): void {
    client.socket.on('pong', heardPong)
    this.clients.add(client)
    // The timer runs only while someone is connected; unref'd, since open
    // sockets keep the process alive anyway.
    this.timer ??= setInterval(() => this.check(), this.settings.interval).unref()
  }

  detach(client: Client): void {
    this.clients.delete(client)
    if (this.clients.size === 0) this.stop()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private check(): void {
    const now = performance.now()
    for (const client of this.clients) {
      if (client.pingUnanswered && now - client.lastSeenAt >= this.settings.timeout) {
        this.onDead(client)
      } else if (client.socket.readyState === WebSocket.OPEN) {
        // A probe the application skipped (`ping` returned null) awaits no answer.
        if (this.probe(client) !== false) client.pingUnanswered = true
      }
    }
  }
}

/** lifeline's own heartbeat dialect, as a reliable server answers it when its heartbeat is off. */
export const PLAIN_PINGS: Pick<ResolvedServerHeartbeat, 'isPing' | 'pong' | 'mode' | 'isPong'> = {
  mode: 'client',
  isPing: (data) => data === 'ping',
  pong: 'pong',
  isPong: () => false,
}

/**
 * Answers the client's application-level pings (`heartbeat.isPing`) with
 * `heartbeat.pong`, and keeps them from the application's `message` events.
 */
export function answerPings(
  dialect: Pick<ResolvedServerHeartbeat, 'isPing' | 'pong' | 'mode' | 'isPong'>,
  report: (error: HeartbeatServerError) => void,
  write: Write,
): ConnectionHook {
  const { isPing, pong, mode, isPong } = dialect
  const failed = (hook: string, client: Client, thrown: unknown): void =>
    report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `heartbeat.${hook} failed for client "${client.name}": ${messageOf(thrown)}`, { cause: thrown, client: client.name }))

  return {
    receive(client: Client, data: InboundData, isBinary: boolean): boolean {
      if (mode === 'server') {
        try {
          // The answer to our own ping: the proof of life the monitor waits for
          // (one per ping: pongs nobody asked for prove nothing).
          if (isPong(data, isBinary) === true) {
            if (client.pingUnanswered) client.sawLife()
            return true
          }
        } catch (thrown) {
          failed('isPong', client, thrown)
        }
      }
      try {
        if (isPing(data, isBinary) !== true) return false
      } catch (thrown) {
        failed('isPing', client, thrown)
        return false
      }
      let answer: unknown
      try {
        answer = typeof pong === 'function' ? pong(data, client.name) : pong
      } catch (thrown) {
        failed('pong', client, thrown)
        return true
      }
      if (answer === null) return true
      if (typeof answer !== 'string' && !Buffer.isBuffer(answer)) {
        failed('pong', client, new TypeError(`expected a string, a Buffer or null, got ${typeof answer}`))
      } else if (client.socket.readyState === WebSocket.OPEN) {
        write(client, answer)
      }
      return true
    },
  }
}
