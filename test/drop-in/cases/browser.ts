/** Checks only a browser can make: its own event classes, relative URLs, blocked ports (Chromium only). */
import { count, nativeWebSocket, record, SAME_AS_REFERENCE, thrown, type Case, type CaseContext } from './record.js'

/** The open, error and close events `socket` fires, up to its close. */
async function eventsUntilClose(socket: EventTarget): Promise<string[]> {
  const seen: string[] = []
  for (const type of ['open', 'error']) socket.addEventListener(type, () => seen.push(type))
  await new Promise<void>((resolve) => socket.addEventListener('close', (e) => void (seen.push(`close ${(e as CloseEvent).code} ${(e as CloseEvent).wasClean}`), resolve())))
  return seen
}

export const browserCases: Case[] = [
  {
    name: 'delivers binary messages as Blobs by default, in MessageEvents, and closes with CloseEvents',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`)
      const events: string[] = []
      ws.onmessage = (e) => events.push(`${e.constructor.name} ${(e.data as object).constructor.name} ${e.origin === new URL(ctx.server).origin}`)
      ws.onclose = (e) => events.push(e.constructor.name)
      const log = record(ws)
      await log.until((l) => count(l, 'open') === 1, 'open')
      const binaryType = ws.binaryType
      ws.send(new Uint8Array([1]))
      await log.until((l) => count(l, 'message') === 1, 'the echo')
      ws.close()
      await log.until((l) => count(l, 'close') === 1, 'close')
      return { binaryType, events }
    },
    expected: { binaryType: 'blob', events: ['MessageEvent Blob true', 'CloseEvent'] },
  },
  {
    name: 'resolves a relative URL against the document, as browsers do (WPT Create-valid-url-relative)',
    async run(ctx) {
      const ws = new ctx.RWS('echo?relative', undefined, { autoConnect: false })
      const url = ws.url
      ws.close()
      return url
    },
    expected: (ctx: CaseContext) => `${ctx.server}/echo?relative`,
  },
  {
    name: 'ends a link the server drops after the open (no close frame) as the browser\'s own WebSocket does: close 1006 not clean, no error',
    async run(ctx) {
      const dropIn = await eventsUntilClose(new ctx.RWS(`${ctx.server}/drop?after=50`, undefined, { reconnect: { maxAttempts: 1 } }))
      const reference = await eventsUntilClose(new nativeWebSocket!(`${ctx.server}/drop?after=50`))
      return { dropIn, reference }
    },
    expected: SAME_AS_REFERENCE,
  },
  {
    name: 'fails a link whose server breaks the protocol (a reserved opcode) as the browser\'s own WebSocket does: error, then close 1006',
    async run(ctx) {
      const dropIn = await eventsUntilClose(new ctx.RWS(`${ctx.server}/bad-frame?after=50`, undefined, { reconnect: { maxAttempts: 1 } }))
      const reference = await eventsUntilClose(new nativeWebSocket!(`${ctx.server}/bad-frame?after=50`))
      return { dropIn, reference }
    },
    expected: SAME_AS_REFERENCE,
  },
  {
    name: 'refuses a blocked port as the browser\'s own WebSocket does: a throw from the constructor, or an error and a close (WPT Create-blocked-port)',
    async run(ctx) {
      // What happens to a socket: what the constructor threw, else the events it fired.
      const fate = async (create: () => EventTarget): Promise<string[]> => {
        let socket: EventTarget
        try {
          socket = create()
        } catch {
          return [thrown(create)]
        }
        const events: string[] = []
        await new Promise<void>((resolve) => {
          socket.addEventListener('error', () => events.push('error'))
          socket.addEventListener('close', (e) => void (events.push(`close ${(e as CloseEvent).code} ${(e as CloseEvent).wasClean}`), resolve()))
        })
        return events
      }
      const ports = [1, 25, 6_000]
      const dropIn = await Promise.all(ports.map((port) => fate(() => new ctx.RWS(`ws://127.0.0.1:${port}/`, undefined, { reconnect: { maxAttempts: 1 } }))))
      const reference = await Promise.all(ports.map((port) => fate(() => new nativeWebSocket!(`ws://127.0.0.1:${port}/`))))
      return { dropIn, reference }
    },
    expected: SAME_AS_REFERENCE,
  },
]
