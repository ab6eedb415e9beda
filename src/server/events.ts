import { Emitter } from '../emitter.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import type { HeartbeatServerEventMap } from './types.js'

/** The server's emitter: a throwing listener becomes a `LIFELINE_LISTENER_FAILED` error event. */
export function createServerEmitter(): Emitter<HeartbeatServerEventMap> {
  return new Emitter<HeartbeatServerEventMap>(
    (thrown, type, event) =>
      new HeartbeatServerError('LIFELINE_LISTENER_FAILED', `A '${String(type)}' listener threw: ${messageOf(thrown)}`, {
        cause: thrown,
        client: clientOf(event),
      }),
  )
}

function clientOf(event: unknown): string | undefined {
  if (event instanceof HeartbeatServerError) return event.client
  const name = (event as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}
