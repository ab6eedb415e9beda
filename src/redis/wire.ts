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

const TEXT = 0x74 // 't'
const BINARY = 0x62 // 'b'

/** A message as Redis stores and carries it: a type byte, then UTF-8 text or the bytes. */
export function encodeMessage(data: Outbound): Buffer {
  if (typeof data === 'string') {
    const body = Buffer.from(data, 'utf8')
    const out = Buffer.allocUnsafe(body.length + 1)
    out[0] = TEXT
    body.copy(out, 1)
    return out
  }
  const out = Buffer.allocUnsafe(data.byteLength + 1)
  out[0] = BINARY
  out.set(data, 1)
  return out
}

/** The message {@link encodeMessage} wrote; undefined for bytes it did not write. */
export function decodeMessage(bytes: Buffer): Outbound | undefined {
  if (bytes.length === 0) return undefined
  if (bytes[0] === TEXT) return bytes.toString('utf8', 1)
  if (bytes[0] === BINARY) return new Uint8Array(bytes.subarray(1))
  return undefined
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
