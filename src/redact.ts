/**
 * URLs for error messages, which end up in logs, close reasons and traces
 * sent as bug reports: a URL's query may hold credentials (`?token=`), so
 * only the names of its parameters appear, never their values; of a
 * fragment, only that there is one.
 */

const HIDDEN = '…'

/** The path of `url`, its query's parameter names (`/live?token=…`), and `#…` when it has a fragment. */
export function redactedUrl(url: URL): string {
  const query = url.search === '' ? '' : `?${[...new Set(url.search.slice(1).split('&').filter((p) => p !== '').map(parameterShown))].join('&')}`
  return `${url.pathname}${query}${url.href.includes('#') ? `#${HIDDEN}` : ''}`
}

// `token=…` for a parameter; a bare `?s3cret` is a value without a name, so nothing of it shows.
function parameterShown(parameter: string): string {
  const equals = parameter.indexOf('=')
  return equals === -1 ? HIDDEN : `${parameter.slice(0, equals)}=${HIDDEN}`
}

// `scheme://user:password@` in text no URL parser takes (a bad port, a broken
// IPv6 literal): everything up to its last `@`, since a password may hold a `/`.
const CREDENTIALS = /^([a-z][a-z0-9+.-]*:)?([/\\]{2})?.*@/is

// Longer than any URL worth quoting; what is cut is said to be.
const MAX_QUOTED = 200

/**
 * A URL the application gave, as an error message may quote it: scheme,
 * host and {@link redactedUrl} (user name and password, if any, hidden too;
 * without a host, only the scheme). Text that does not parse as a URL is
 * quoted up to its first `?` or `#`.
 */
export function quotedUrl(value: string | URL): string {
  let text: string
  try {
    const url = new URL(String(value))
    const credentials = url.username !== '' || url.password !== '' ? `${HIDDEN}@` : ''
    // Without a host (`mailto:`, `javascript:`...) the rest is one opaque path, which may hold anything.
    text = url.host === '' ? `${url.protocol}${HIDDEN}` : `${url.protocol}//${credentials}${url.host}${redactedUrl(url)}`
  } catch {
    const raw = String(value)
    const cut = raw.search(/[?#]/)
    const head = (cut === -1 ? raw : raw.slice(0, cut)).replace(CREDENTIALS, `$1$2${HIDDEN}@`)
    text = cut === -1 ? head : `${head}${raw[cut]}${HIDDEN}`
  }
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}${HIDDEN}` : text)
}
