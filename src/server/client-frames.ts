import { decodeFrame, ProtocolError, type Frame } from '../reliable/protocol.js'
import type { Client } from './client.js'
import type { Greetings } from './greetings.js'
import type { InboundData } from './types.js'

export type Hello = Extract<Frame, { type: 'hello' }>
export type Traffic = Extract<Frame, { type: 'data' | 'ack' }>

/** Where a reliable client's frames go, and what answers a frame outside the protocol. */
export interface FrameRoutes {
  greetings: Greetings
  /** Whether `client` has been welcomed into a session it still speaks for. */
  welcomed(client: Client): boolean
  hello(client: Client, frame: Hello): void
  /** May throw a {@link ProtocolError} (a gap, an ack of a message never sent). */
  traffic(client: Client, frame: Traffic): void
  fail(client: Client, error: ProtocolError): void
}

/**
 * Reads one of a reliable client's frames and sends it on: its first hello,
 * then data and acknowledgements once it is welcomed. Anything else (a
 * second hello, traffic before the welcome, a welcome from a client, bytes
 * that are no frame) breaks the protocol and ends the client. Always
 * consumes the frame.
 */
export function routeClientFrame(client: Client, data: InboundData, routes: FrameRoutes): true {
  try {
    const frame = decodeFrame(data)
    if (frame.type === 'hello') {
      if (!routes.greetings.hello(client)) throw new ProtocolError('A second hello on the same socket')
      routes.hello(client, frame)
    } else if (!routes.welcomed(client)) {
      throw new ProtocolError(`A ${frame.type} frame before the welcome`)
    } else if (frame.type === 'welcome') {
      throw new ProtocolError('A welcome frame came from a client')
    } else {
      routes.traffic(client, frame)
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    routes.fail(client, error)
  }
  return true
}
