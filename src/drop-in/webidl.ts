// The argument conversions and checks the WebSocket standard makes (WebIDL
// plus the algorithm's own steps), with the DOMException names it uses, so
// that code written for `WebSocket` meets the same errors here.
import { quotedUrl } from '../redact.js'
import { utf8Length, MAX_CLOSE_REASON_BYTES } from '../utf8.js'
import type { SendData } from '../types.js'

// RFC 7230 `token`: what a Sec-WebSocket-Protocol element may be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** A value for an error message, cut so a huge argument never makes a huge message. */
const preview = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}…` : text)

/** WebIDL `DOMString`: every value but a symbol converts (a symbol throws, as the standard's conversion does). */
function domString(value: unknown, what: string): string {
  if (typeof value === 'symbol') throw new TypeError(`${what}: a Symbol cannot be converted to a string`)
  return `${value as string}`
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** WebIDL `USVString`: a DOMString with lone surrogates replaced by U+FFFD. */
export function usvString(value: unknown, what: string): string {
  return domString(value, what).replace(LONE_SURROGATE, '\uFFFD')
}

/**
 * The constructor's URL steps: parse (relative to the document where there is
 * one), `http(s):` becomes `ws(s):`, any other scheme or a fragment is a
 * `SyntaxError`, whose message hides the URL's query values and fragment.
 * Returns the serialized URL.
 */
export function webSocketUrl(value: unknown): string {
  const text = usvString(value, 'ReconnectingWebSocket url')
  const base = (globalThis as { document?: { baseURI?: string } }).document?.baseURI
  let url: URL
  try {
    url = new URL(text, base)
  } catch {
    throw new DOMException(`The URL ${quotedUrl(text)} is invalid.`, 'SyntaxError')
  }
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new DOMException(`The URL's scheme must be 'ws', 'wss', 'http' or 'https'; '${url.protocol.slice(0, -1)}' is not allowed.`, 'SyntaxError')
  }
  // An empty fragment is a fragment too: its URL serializes with the '#'.
  if (url.href.includes('#')) {
    throw new DOMException(`The URL ${quotedUrl(text)} contains a fragment identifier; fragments are not allowed in WebSocket URLs.`, 'SyntaxError')
  }
  return url.href
}

/**
 * The constructor's `protocols` (`DOMString or sequence<DOMString>`): each
 * must be a token and none may repeat, compared without case.
 */
export function webSocketProtocols(value: unknown): string[] {
  if (value === undefined) return []
  const isSequence = typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  const list = isSequence ? Array.from(value as Iterable<unknown>, (p) => domString(p, 'ReconnectingWebSocket protocols')) : [domString(value, 'ReconnectingWebSocket protocols')]
  const seen = new Set<string>()
  for (const protocol of list) {
    if (!TOKEN.test(protocol)) throw new DOMException(`The subprotocol '${preview(protocol)}' is invalid.`, 'SyntaxError')
    const folded = protocol.toLowerCase()
    if (seen.has(folded)) throw new DOMException(`The subprotocol '${preview(protocol)}' is duplicated.`, 'SyntaxError')
    seen.add(folded)
  }
  return list
}

/** WebIDL `[Clamp] unsigned short`: NaN is 0, the range is clamped, halves round to even. */
function clampUnsignedShort(value: unknown): number {
  const number = +(value as number)
  if (Number.isNaN(number)) return 0
  const clamped = Math.min(Math.max(number, 0), 65_535)
  const floor = Math.floor(clamped)
  const fraction = clamped - floor
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) return floor + 1
  return floor
}

/**
 * `close(code, reason)`'s checks: a code other than 1000 or 3000–4999 is an
 * `InvalidAccessError`, a reason over 123 UTF-8 bytes a `SyntaxError`.
 */
export function closeArguments(code: unknown, reason: unknown): { code: number | undefined; reason: string | undefined } {
  const checkedCode = code === undefined ? undefined : clampUnsignedShort(code)
  if (checkedCode !== undefined && checkedCode !== 1000 && !(checkedCode >= 3000 && checkedCode <= 4999)) {
    throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${checkedCode} is neither.`, 'InvalidAccessError')
  }
  const checkedReason = reason === undefined ? undefined : usvString(reason, 'close() reason')
  if (checkedReason !== undefined && utf8Length(checkedReason) > MAX_CLOSE_REASON_BYTES) {
    throw new DOMException(`The close reason must not be greater than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes.`, 'SyntaxError')
  }
  return { code: checkedCode, reason: checkedReason }
}

/** `send(data)`'s union `(BufferSource or Blob or USVString)`: binary data as it is, anything else as a string. */
export function sendData(value: unknown): SendData {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value
  if (typeof Blob !== 'undefined' && value instanceof Blob) return value
  return usvString(value, 'send() data')
}

/** Bytes `data` puts on the wire. */
export function byteLength(data: SendData): number {
  if (typeof data === 'string') return utf8Length(data)
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size
  return (data as ArrayBufferLike | ArrayBufferView).byteLength
}
