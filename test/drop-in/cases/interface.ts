/** The interface: constants, handlers, constructor arguments, getters (Node and Chromium). */
import { closed, nativeWebSocket, opened, SAME_AS_REFERENCE, thrown, type Case, type CaseContext, type DropIn } from './record.js'

export const interfaceCases: Case[] = [
  {
    name: 'has the constants on the class and on instances, read-only (WPT idlharness; rws, partysocket: connection status constants)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, { autoConnect: false })
      const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const
      const writable = Object.getOwnPropertyDescriptor(ctx.RWS, 'OPEN')?.writable
      ws.close()
      return { onClass: names.map((n) => ctx.RWS[n]), onInstance: names.map((n) => ws[n]), writable }
    },
    expected: { onClass: [0, 1, 2, 3], onInstance: [0, 1, 2, 3], writable: false },
  },
  {
    name: 'is an EventTarget whose handlers start null and treat what is not callable as null (WPT eventhandlers)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, { autoConnect: false })
      const result = (['open', 'message', 'error', 'close'] as const).map((type) => {
        const key = `on${type}` as const
        const initial = ws[key]
        ;(ws as unknown as Record<string, unknown>)[key] = () => {}
        const set = typeof ws[key]
        ;(ws as unknown as Record<string, unknown>)[key] = 2
        return [initial, set, ws[key]]
      })
      ws.close()
      return { isEventTarget: ws instanceof EventTarget, result }
    },
    expected: { isEventTarget: true, result: Array(4).fill([null, 'function', null]) },
  },
  {
    name: 'throws a SyntaxError for an invalid URL, another scheme or a fragment, as the platform\'s WebSocket does (WPT Create-invalid-urls, Create-wrong-scheme)',
    async run(ctx) {
      const urls = ['ws://foo bar.com/', 'wss://foo bar.com/', 'ftp://127.0.0.1/', 'mailto:example@example.org', 'about:blank', `${ctx.server}/#`, `${ctx.server}/#test`, 'ws://[::1/']
      const outcome = (create: (url: string) => { close(): void }) => (url: string) => thrown(() => create(url).close())
      const dropIn = urls.map(outcome((url) => new ctx.RWS(url, undefined, { autoConnect: false })))
      // Browsers differ from the standard here and there (Chromium accepts a space in a host): the drop-in follows its browser.
      const reference = nativeWebSocket === undefined ? urls.map(() => 'DOMException SyntaxError') : urls.map(outcome((url) => new nativeWebSocket!(url)))
      return { dropIn, reference }
    },
    expected: SAME_AS_REFERENCE,
  },
  {
    name: 'turns http: and https: into ws: and wss:, and keeps a non-default port in url (WPT Create-http-urls, Create-verify-url-set-non-default-port)',
    async run(ctx) {
      const http = new ctx.RWS(`${ctx.server.replace('ws:', 'http:')}/echo`, undefined, { autoConnect: false })
      const https = new ctx.RWS('https://127.0.0.1:8443/echo', undefined, { autoConnect: false })
      const urls = [http.url, https.url]
      http.close()
      https.close()
      return urls
    },
    expected: (ctx: CaseContext) => [`${ctx.server}/echo`, 'wss://127.0.0.1:8443/echo'],
  },
  {
    name: 'throws a SyntaxError for a repeated subprotocol, also in another case, or one that is not a token (WPT Create-protocols-repeated*, Create-protocol-with-space, Create-nonAscii-protocol-string, Create-asciiSep-protocol-string)',
    async run(ctx) {
      const lists: (string | string[])[] = [['echo', 'echo'], ['echo', 'eCho'], 'ec ho', '\u0080echo', 'echo,chat', 'ec\u0000ho', '']
      return lists.map((protocols) => thrown(() => new ctx.RWS(`${ctx.server}/echo`, protocols)))
    },
    expected: Array(7).fill('DOMException SyntaxError'),
  },
  {
    name: 'offers the subprotocols and reports the one the server chose; none gives an empty protocol (WPT Create-valid-url-array-protocols, Create-valid-url-protocol-empty; rws: websocket protocol)',
    async run(ctx) {
      const seen: string[] = []
      for (const protocols of [['echo', 'chat'], 'chat', undefined, []]) {
        const { ws, log } = await opened(ctx, '/echo', protocols)
        seen.push(ws.protocol, ws.extensions)
        await closed(ws, log)
      }
      return seen
    },
    expected: ['echo', '', 'chat', '', '', '', '', ''],
  },
  {
    name: 'needs the URL argument and ignores arguments past the options (WPT constructor)',
    async run(ctx) {
      const RWS = ctx.RWS as unknown as new (...args: unknown[]) => DropIn
      const missing = thrown(() => new RWS())
      const ws = new RWS(`${ctx.server}/echo`, 'echo', { autoConnect: false }, 'stray argument')
      ws.close()
      return [missing, ws instanceof ctx.RWS]
    },
    expected: ['TypeError', true],
  },
  {
    name: 'reads url, protocol, extensions, bufferedAmount and binaryType before it is open (rws, partysocket: getters when not ready)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, { autoConnect: false })
      const getters = [ws.url, ws.protocol, ws.extensions, ws.bufferedAmount, ws.binaryType, ws.readyState]
      ws.close()
      return getters
    },
    expected: (ctx: CaseContext) => [`${ctx.server}/echo`, '', '', 0, ctx.platform === 'browser' ? 'blob' : 'arraybuffer', 3],
  },
]
