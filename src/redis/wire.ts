import { envelopeBytes } from '../reliable/protocol.js'
import type { Outbound } from '../server/session.js'

/**
 * Messages between nodes on Redis pub/sub: a JSON header line, then the
 * application's bytes as they are (text or binary, never re-encoded).
 */
export type Envelope =
  | { t: 'send'; name: string }
  | { t: 'broadcast'; origin: string }
  | { t: 'evict'; name: string; connection: string }
  | { t: 'pump'; key: string }
  | { t: 'drop'; key: string; epoch: number }
  | { t: 'end'; key: string }

const TEXT = 0x74 // 't'
const BINARY = 0x62 // 'b'

// A type byte and the 4-byte size of the message's reliable-delivery frame come first.
const HEAD = 5

/**
 * A message as Redis stores and carries it: a type byte, the exact size of
 * the data frame that carries it to a client (so Redis can tell whether a
 * client may take it), then UTF-8 text or the bytes.
 */
export function encodeMessage(data: Outbound): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const out = Buffer.allocUnsafe(body.byteLength + HEAD)
  out[0] = typeof data === 'string' ? TEXT : BINARY
  out.writeUInt32BE(Math.min(envelopeBytes(data), 0xffffffff), 1)
  out.set(body, HEAD)
  return out
}

/** The message {@link encodeMessage} wrote; undefined for bytes it did not write. */
export function decodeMessage(bytes: Buffer): Outbound | undefined {
  if (bytes.length < HEAD) return undefined
  if (bytes[0] === TEXT) return bytes.toString('utf8', HEAD)
  if (bytes[0] === BINARY) return new Uint8Array(bytes.subarray(HEAD))
  return undefined
}

/** What a message counts against `maxUnacknowledgedBytes` in a cluster: its payload's bytes (UTF-8 for text). */
export function payloadBytes(data: Outbound): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
}

export function envelope(header: Envelope, data?: Outbound): Buffer {
  const head = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')
  return data === undefined ? head : Buffer.concat([head, encodeMessage(data)])
}

/** The header and the message of an envelope; undefined for anything else on the channel. */
export function openEnvelope(raw: Buffer): { header: Envelope; data: Outbound | undefined } | undefined {
  const end = raw.indexOf(0x0a)
  if (end < 0) return undefined
  let header: unknown
  try {
    header = JSON.parse(raw.toString('utf8', 0, end))
  } catch {
    return undefined
  }
  if (typeof header !== 'object' || header === null || typeof (header as { t?: unknown }).t !== 'string') return undefined
  const rest = raw.subarray(end + 1)
  return { header: header as Envelope, data: rest.length > 0 ? decodeMessage(rest) : undefined }
}
