/**
 * The reliable-delivery wire format, shared by client and server. Text frames
 * carry JSON arrays tagged by their first element; binary application data
 * travels in a binary frame with a 17-byte header. Sequence numbers start at
 * 1 in each direction and each session; `ack` is the highest sequence number
 * received in order (0: none). They are JavaScript safe integers and never
 * wrap: at a million messages a second, 2^53 lasts 285 years.
 *
 *   ["hello", 1, sessionId, ack, maxPayload?]              client → server, first frame on every socket;
 *                                                          the client picks the id (16–64 printable ASCII
 *                                                          characters; lifeline uses 128 random bits) and keeps it
 *   ["welcome", 1, sessionId, resumed, ack, maxPayload?]   server → client, answer to hello
 *   ["d", seq, ack, text]                                  a text message
 *   ["a", ack]                                             an acknowledgement alone
 *   binary: 0x64 'd', seq (float64 BE), ack (float64 BE), bytes   a binary message
 *
 * `maxPayload` is the largest frame, in bytes, the sender of the hello (or
 * welcome) accepts, at least 1024; the other side refuses to send a message
 * whose data frame would be larger, instead of sending it into a 1009 close
 * again and again. Left out, the limit is unknown.
 */

import { utf8Length } from '../utf8.js'

export const PROTOCOL_VERSION = 1
const BINARY_DATA = 0x64
const HEADER_BYTES = 17
// `["d",` + two 16-digit numbers + separators + `]`: the most a text frame adds to its JSON string.
const TEXT_ENVELOPE_BYTES = 40
// JSON escapes a UTF-16 unit as at most 6 bytes (`\u001f`), between two quotes.
const JSON_BYTES_PER_UNIT = 6
const JSON_QUOTES = 2

export type Frame =
  | { type: 'hello'; session: string; ack: number; maxPayload: number | undefined }
  | { type: 'welcome'; session: string; resumed: boolean; ack: number; maxPayload: number | undefined }
  | { type: 'data'; seq: number; ack: number; data: string | Uint8Array }
  | { type: 'ack'; ack: number }

/**
 * Why a frame is not part of the protocol; the receiver closes with `code`.
 * The message may quote the peer's frame (bounded) and goes to the `error`
 * event; the close frame carries only the fixed {@link ProtocolError.reason}.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  constructor(
    message: string,
    readonly code: 1002 | 1007 = 1002,
  ) {
    super(message)
  }

  /** The close reason: fixed text, never the peer's bytes. */
  get reason(): string {
    return this.code === 1007 ? 'not a reliable-delivery frame' : 'reliable-delivery protocol error'
  }
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
/**
 * The smallest `maxPayload` a hello or welcome may announce: a peer that
 * takes less cannot take the protocol's own frames, and a tiny limit would
 * only let a peer refuse every message it is sent.
 */
export const MIN_MAX_PAYLOAD = 1024

const isLimit = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= MIN_MAX_PAYLOAD
const SESSION_ID = /^[\x21-\x7e]{16,64}$/

/** Whether `value` can name a session: 16–64 printable ASCII characters, so it is safe in store keys and logs. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value)
}

export function encodeHello(session: string, ack: number, maxPayload?: number): string {
  return JSON.stringify(maxPayload === undefined ? ['hello', PROTOCOL_VERSION, session, ack] : ['hello', PROTOCOL_VERSION, session, ack, maxPayload])
}

export function encodeWelcome(session: string, resumed: boolean, ack: number, maxPayload?: number): string {
  return JSON.stringify(maxPayload === undefined
    ? ['welcome', PROTOCOL_VERSION, session, resumed, ack]
    : ['welcome', PROTOCOL_VERSION, session, resumed, ack, maxPayload])
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

/**
 * Whether the data frame carrying `data` stays within `maxPayload` bytes
 * whatever its sequence numbers. Cheap for the usual message: the exact size
 * is computed only when a worst-case estimate does not fit.
 */
export function fitsPayload(data: string | Uint8Array, maxPayload: number | undefined): boolean {
  if (maxPayload === undefined) return true
  if (typeof data !== 'string') return HEADER_BYTES + data.byteLength <= maxPayload
  if (TEXT_ENVELOPE_BYTES + JSON_QUOTES + data.length * JSON_BYTES_PER_UNIT <= maxPayload) return true
  // JSON.stringify escapes lone surrogates, so its output is ASCII wherever it is not plain text.
  return TEXT_ENVELOPE_BYTES + utf8Length(JSON.stringify(data)) <= maxPayload
}

/** Most bytes of the data frame carrying `data` (for error messages). */
export function envelopeBytes(data: string | Uint8Array): number {
  return typeof data === 'string' ? TEXT_ENVELOPE_BYTES + utf8Length(JSON.stringify(data)) : HEADER_BYTES + data.byteLength
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
  const [tag, a, b, c, d, e] = parsed as unknown[]
  switch (tag) {
    case 'd':
      if (isCount(a) && a > 0 && isCount(b) && typeof c === 'string' && parsed.length === 4) return { type: 'data', seq: a, ack: b, data: c }
      break
    case 'a':
      if (isCount(a) && parsed.length === 2) return { type: 'ack', ack: a }
      break
    case 'hello':
      checkVersion(a)
      if (isSessionId(b) && isCount(c) && (parsed.length === 4 || (parsed.length === 5 && isLimit(d)))) {
        return { type: 'hello', session: b, ack: c, maxPayload: d as number | undefined }
      }
      break
    case 'welcome':
      checkVersion(a)
      if (isSessionId(b) && typeof c === 'boolean' && isCount(d) && (parsed.length === 5 || (parsed.length === 6 && isLimit(e)))) {
        return { type: 'welcome', session: b, resumed: c, ack: d, maxPayload: e as number | undefined }
      }
      break
  }
  throw new ProtocolError(`Malformed reliable-delivery frame ${preview(raw)}`)
}

function checkVersion(version: unknown): void {
  if (version !== PROTOCOL_VERSION) {
    const shown = typeof version === 'number' ? String(version) : preview(JSON.stringify(version) ?? String(version))
    throw new ProtocolError(`Unsupported reliable-delivery protocol version ${shown}; this side speaks ${PROTOCOL_VERSION}`)
  }
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

/** At most 40 characters of a peer's text, quoted, for an error message. */
export function preview(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)
}
