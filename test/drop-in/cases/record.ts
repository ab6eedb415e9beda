/**
 * What the conformance cases share: their context, a recorder of a socket's
 * events, and small probes. Only what a page has (no Node API), since the same
 * cases run in Chromium.
 */
import type { ReconnectingWebSocket as DropIn } from '../../../src/index.js'

export type { DropIn }

export interface CaseContext {
  RWS: typeof DropIn
  /** `ws://127.0.0.1:<port>` of the behaviour server */
  server: string
  /** A port on 127.0.0.1 where nothing listens. */
  closedPort: number
  platform: 'node' | 'browser'
}

export interface Case {
  name: string
  run(ctx: CaseContext): Promise<unknown>
  /**
   * What `run` returns when the drop-in conforms (a function of the context
   * where it differs between Node and browsers), or `SAME_AS_REFERENCE` when
   * `run` returns `{ dropIn, reference }`: what the drop-in did, and what the
   * platform's own WebSocket did (the standard's outcome where there is none).
   */
  expected: unknown
}

/** See {@link Case.expected}. */
export const SAME_AS_REFERENCE = 'the same as the reference'

/** A case's expected value in `ctx`. */
export function expectedIn(c: Case, ctx: CaseContext, result: unknown): unknown {
  if (c.expected === SAME_AS_REFERENCE) return { dropIn: (result as { reference: unknown }).reference, reference: (result as { reference: unknown }).reference }
  return typeof c.expected === 'function' ? (c.expected as (ctx: CaseContext) => unknown)(ctx) : c.expected
}

/** The platform's own WebSocket, where it has one (not Node 20). */
export const nativeWebSocket = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket

export const QUICK = { reconnect: { initialDelay: 20, maxDelay: 40 } }

/** Records every event of `ws` as a line, with readyState as the listener saw it. */
export function record(ws: DropIn): { lines: string[]; until(predicate: (lines: string[]) => boolean, what: string): Promise<string[]> } {
  const lines: string[] = []
  const waiters = new Set<() => void>()
  const note = (line: string) => {
    lines.push(line)
    for (const wake of [...waiters]) wake()
  }
  ws.addEventListener('open', () => note(`open ${ws.readyState}`))
  ws.addEventListener('error', () => note(`error ${ws.readyState}`))
  ws.addEventListener('close', (e) => note(`close ${e.code} ${JSON.stringify(e.reason)} ${e.wasClean} ${ws.readyState}`))
  ws.addEventListener('message', (e) => note(`message ${typeof e.data === 'string' ? JSON.stringify(e.data) : describeBinary(e.data)}`))
  return {
    lines,
    until(predicate, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited 5 s for ${what}; saw ${JSON.stringify(lines)}`)), 5_000)
        const check = () => {
          if (!predicate(lines)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve([...lines])
        }
        waiters.add(check)
        check()
      })
    },
  }
}

export function describeBinary(data: unknown): string {
  if (data instanceof ArrayBuffer) return `ArrayBuffer[${[...new Uint8Array(data)].join(',')}]`
  if (typeof Blob !== 'undefined' && data instanceof Blob) return `Blob(${data.size})`
  return String(data)
}

export const count = (lines: string[], prefix: string) => lines.filter((l) => l.startsWith(prefix)).length
export const settle = () => new Promise((resolve) => setTimeout(resolve, 100))

/** What a function throws, as `name` (DOMException name, or the constructor) and `code` where there is one. */
export function thrown(run: () => unknown): string {
  try {
    run()
    return 'nothing'
  } catch (error) {
    if (error instanceof DOMException) return `DOMException ${error.name}`
    const code = (error as { code?: unknown }).code
    return `${(error as Error).constructor.name}${typeof code === 'string' ? ` ${code}` : ''}`
  }
}

/** Opens a socket on `path` and waits for its open event. */
export async function opened(ctx: CaseContext, path: string, protocols?: string | string[], options: object = {}): Promise<{ ws: DropIn; log: ReturnType<typeof record> }> {
  const ws = new ctx.RWS(`${ctx.server}${path}`, protocols, { ...QUICK, ...options })
  const log = record(ws)
  await log.until((l) => count(l, 'open') === 1, 'open')
  return { ws, log }
}

/** Closes `ws` and waits for its close event. */
export async function closed(ws: DropIn, log: ReturnType<typeof record>): Promise<string[]> {
  const before = count(log.lines, 'close')
  ws.close()
  return log.until((l) => count(l, 'close') > before, 'close')
}

