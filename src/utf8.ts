/** Most bytes a close frame may carry as its reason: 125 bytes of payload minus the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff

/** Bytes `text` takes in UTF-8; a lone surrogate counts 3, as U+FFFD replaces it on the wire. */
export function utf8Length(text: string): number {
  return utf8Prefix(text, Infinity).bytes
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut on a character boundary. */
export function utf8Prefix(text: string, maxBytes: number): { text: string; bytes: number } {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    const pair = isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))
    const size = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3
    if (bytes + size > maxBytes) return { text: text.slice(0, i), bytes }
    bytes += size
    if (pair) i++
  }
  return { text, bytes }
}

/**
 * `reason` cut to at most 123 UTF-8 bytes, on a character boundary, so that
 * `close(code, reason)` can never throw because of its length (ws throws a
 * `RangeError`, browsers a `SyntaxError`).
 */
export function fitCloseReason(reason: string): string {
  // Each UTF-16 unit takes at most 3 bytes: short strings need no count.
  if (reason.length * 3 <= MAX_CLOSE_REASON_BYTES) return reason
  return utf8Prefix(reason, MAX_CLOSE_REASON_BYTES).text
}
