import type { ConnectionEvent } from '../machines/connection.types.js'
import type { StateChangeReason } from './types.js'

/** An event as actions see it: the machine's own, or one XState raises (`xstate.after.<delay>.<state>`). */
export type MachineEvent = ConnectionEvent | { type: `xstate.${string}` }

const EVENT_REASONS: Record<string, StateChangeReason> = {
  open: 'open',
  close: 'close',
  reconnect: 'reconnect',
  'socket.open': 'socket-open',
  'socket.close': 'socket-close',
  'network.offline': 'offline',
  'network.online': 'online',
  'environment.wake': 'wake',
  connectTimeout: 'connect-timeout',
  heartbeatTimeout: 'heartbeat-timeout',
  // Only server-driven mode leaves `open` on this timer: the server's pings stopped.
  heartbeatInterval: 'heartbeat-timeout',
  backoffDelay: 'backoff-elapsed',
  // What was left of the backoff after a wake-up: the server's retryAfter.
  serverHold: 'backoff-elapsed',
  closeTimeout: 'close-timeout',
  probeTimeout: 'probe-timeout',
}

/** Why the machine moved: the reason named after the event that caused it. */
export function reasonOf(event: { type: string }): StateChangeReason {
  const type = event.type.startsWith('xstate.after.') ? event.type.split('.')[2] ?? '' : event.type
  const reason = EVENT_REASONS[type]
  if (reason === undefined) throw new Error(`No state change reason for event ${event.type}`)
  return reason
}
