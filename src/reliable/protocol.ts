/**
 * The reliable-delivery wire format, shared by client and server. Text frames
 * carry JSON arrays tagged by their first element; binary application data
 * travels in a binary frame with a 17-byte header. Sequence numbers start at
 * 1 in each direction and each session; `ack` is the highest sequence number
 * received in order (0: none). They are JavaScript safe integers and never
 * wrap: at a million messages a second, 2^53 lasts 285 years.
 *
 *   ["hello", 1, sessionId, ack]                   client → server, first frame on every socket;
 *                                                  the client picks the id (random, 128 bits) and keeps it
 *   ["welcome", 1, sessionId, resumed, ack]        server → client, answer to hello
 *   ["d", seq, ack, text]                          a text message
 *   ["a", ack]                                     an acknowledgement alone
 *   binary: 0x64 'd', seq (float64 BE), ack (float64 BE), bytes   a binary message
 */

export const PROTOCOL_VERSION = 1
const BINARY_DATA = 0x64
const HEADER_BYTES = 17

export type Frame =
  | { type: 'hello'; session: string; ack: number }
  | { type: 'welcome'; session: string; resumed: boolean; ack: number }
  | { type: 'data'; seq: number; ack: number; data: string | Uint8Array }
  | { type: 'ack'; ack: number }

/** Why a frame is not part of the protocol; the receiver closes with `code`. */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  constructor(
    message: string,
    readonly code: 1002 | 1007 = 1002,
  ) {
    super(message)
  }
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

export function encodeHello(session: string, ack: number): string {
  return JSON.stringify(['hello', PROTOCOL_VERSION, session, ack])
}

export function encodeWelcome(session: string, resumed: boolean, ack: number): string {
  return JSON.stringify(['welcome', PROTOCOL_VERSION, session, resumed, ack])
}

export function encodeAck(ack: number): string {
  return `["a",${ack}]`
}

/** A data frame: text stays text (JSON), bytes go in a binary frame. */
export function encodeData(seq: number, ack: number, data: string | Uint8Array): string | Uint8Array {
  if (typeof data === 'string') return `["d",${seq},${ack},${JSON.stringify(data)}]`
  const frame = new Uint8Array(HEADER_BYTES + data.byteLength)
  const view = new DataView(frame.buffer)
  view.setUint8(0, BINARY_DATA)
  view.setFloat64(1, seq)
  view.setFloat64(9, ack)
  frame.set(data, HEADER_BYTES)
  return frame
}

/** Parses a frame; throws a {@link ProtocolError} for anything else. */
export function decodeFrame(raw: string | Uint8Array): Frame {
  if (typeof raw !== 'string') return decodeBinary(raw)
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ProtocolError(`Expected a reliable-delivery frame (a JSON array), got ${preview(raw)}`, 1007)
  }
  if (!Array.isArray(parsed)) throw new ProtocolError(`Expected a reliable-delivery frame (a JSON array), got ${preview(raw)}`, 1007)
  const [tag, a, b, c, d] = parsed as unknown[]
  switch (tag) {
    case 'd':
      if (isCount(a) && a > 0 && isCount(b) && typeof c === 'string' && parsed.length === 4) return { type: 'data', seq: a, ack: b, data: c }
      break
    case 'a':
      if (isCount(a) && parsed.length === 2) return { type: 'ack', ack: a }
      break
    case 'hello':
      if (a === PROTOCOL_VERSION && typeof b === 'string' && b.length >= 16 && b.length <= 64 && isCount(c)) return { type: 'hello', session: b, ack: c }
      if (a !== PROTOCOL_VERSION) throw new ProtocolError(`Unsupported reliable-delivery protocol version ${JSON.stringify(a)}; this side speaks ${PROTOCOL_VERSION}`)
      break
    case 'welcome':
      if (a === PROTOCOL_VERSION && typeof b === 'string' && typeof c === 'boolean' && isCount(d)) return { type: 'welcome', session: b, resumed: c, ack: d }
      if (a !== PROTOCOL_VERSION) throw new ProtocolError(`Unsupported reliable-delivery protocol version ${JSON.stringify(a)}; this side speaks ${PROTOCOL_VERSION}`)
      break
  }
  throw new ProtocolError(`Malformed reliable-delivery frame ${preview(raw)}`)
}

function decodeBinary(raw: Uint8Array): Frame {
  if (raw.byteLength < HEADER_BYTES || raw[0] !== BINARY_DATA) {
    throw new ProtocolError(`Malformed binary reliable-delivery frame (${raw.byteLength} bytes)`)
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const seq = view.getFloat64(1)
  const ack = view.getFloat64(9)
  if (!isCount(seq) || seq === 0 || !isCount(ack)) throw new ProtocolError('Binary reliable-delivery frame with an invalid sequence or ack')
  return { type: 'data', seq, ack, data: raw.subarray(HEADER_BYTES) }
}

/** A new session id: 128 random bits as hex (crypto.getRandomValues works in insecure contexts too). */
export function newSessionId(): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function preview(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)
}
