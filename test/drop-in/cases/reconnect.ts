/** What reconnection adds: dropped links, server closes, reconnect(), handlers kept (Node and Chromium). */
import { closed, count, opened, QUICK, record, settle, type Case, type CaseContext, type DropIn } from './record.js'

const key = () => Math.random().toString(36).slice(2)

/** Notes readyState once the close listeners have returned. */
function readyStateAfterClose(ws: DropIn, into: string[]): void {
  ws.addEventListener('close', () => void setTimeout(() => into.push(`then ${ws.readyState}`)))
}

export const reconnectCases: Case[] = [
  {
    name: 'on a dropped link fires close 1006 not clean with readyState CLOSED and no error (as browsers do), then is CONNECTING, then opens a new socket',
    async run(ctx) {
      const { ws, log } = await opened(ctx, `/drop?after=50&once=${key()}`)
      const after: string[] = []
      readyStateAfterClose(ws, after)
      const lines = await log.until((l) => count(l, 'open') === 2, 'the second open')
      await closed(ws, log)
      return { lines, after: after[0] }
    },
    expected: { lines: ['open 1', 'close 1006 "" false 3', 'open 1'], after: 'then 0' },
  },
  {
    name: 'ends a link whose heartbeat goes unanswered: error, then close 1006 with reason heartbeat-timeout',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/silent', undefined, { heartbeat: { interval: 30, timeout: 30 } })
      const lines = await log.until((l) => count(l, 'close') === 1, 'the heartbeat timeout')
      ws.close()
      return lines
    },
    expected: ['open 1', 'error 3', 'close 1006 "heartbeat-timeout" false 3'],
  },
  {
    name: 'after a clean close by the server reports its code and reason without an error and reconnects; close() in the close event keeps it closed (WPT Close-server-initiated-close; rws, partysocket: closing from the other side should reconnect, … should allow to keep closed)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/close?code=4000&reason=bye`, undefined, QUICK)
      const log = record(ws)
      ws.addEventListener('close', () => void (count(log.lines, 'close') === 2 && ws.close()))
      await log.until((l) => count(l, 'close') === 2, 'two server closes')
      await settle()
      return { lines: log.lines, after: ws.readyState }
    },
    expected: { lines: ['open 1', 'close 4000 "bye" true 3', 'open 1', 'close 4000 "bye" true 3'], after: 3 },
  },
  {
    name: 'stays CLOSED after a close code that must not be retried (4404)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/close?code=4404&reason=gone`, undefined, QUICK)
      const log = record(ws)
      await log.until((l) => count(l, 'close') === 1, 'the close')
      await settle()
      return { lines: log.lines, after: ws.readyState }
    },
    expected: { lines: ['open 1', 'close 4404 "gone" true 3'], after: 3 },
  },
  {
    name: 'asks for credentials once more after a 4401, then stays CLOSED when they are refused again',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/close?code=4401&reason=unauthorised`, undefined, QUICK)
      const log = record(ws)
      await log.until((l) => count(l, 'close') === 2, 'the second refusal')
      await settle()
      return { lines: log.lines, after: ws.readyState }
    },
    expected: { lines: ['open 1', 'close 4401 "unauthorised" true 3', 'open 1', 'close 4401 "unauthorised" true 3'], after: 3 },
  },
  {
    name: 'with reconnect.maxAttempts 1 a refused connection fires one error and one close, then stays CLOSED (rws, partysocket: immediately-failed connection with 0 maxRetries must not retry)',
    async run(ctx) {
      const ws = new ctx.RWS(`ws://127.0.0.1:${ctx.closedPort}/`, undefined, { reconnect: { maxAttempts: 1 } })
      const log = record(ws)
      await log.until((l) => count(l, 'close') === 1, 'the refusal')
      await settle()
      return { lines: log.lines, after: ws.readyState }
    },
    expected: { lines: ['error 3', 'close 1006 "" false 3'], after: 3 },
  },
  {
    name: 'keeps retrying a refused connection: each attempt fires error and close, and readyState is CONNECTING between them',
    async run(ctx) {
      const ws = new ctx.RWS(`ws://127.0.0.1:${ctx.closedPort}/`, undefined, QUICK)
      const after: string[] = []
      readyStateAfterClose(ws, after)
      const log = record(ws)
      await log.until((l) => count(l, 'close') === 3, 'three refusals')
      ws.close()
      return { lines: log.lines.slice(0, 6), after: after.slice(0, 2) }
    },
    expected: { lines: ['error 3', 'close 1006 "" false 3', 'error 3', 'close 1006 "" false 3', 'error 3', 'close 1006 "" false 3'], after: ['then 0', 'then 0'] },
  },
  {
    name: 'reconnect() from open is CONNECTING at once, closes with 1006 reconnect and no error, and opens again (rws, partysocket: connect, send, receive, reconnect)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      const seen: unknown[] = []
      for (let round = 1; round <= 3; round++) {
        ws.send(`round ${round}`)
        await log.until((l) => count(l, 'message') === round, `echo ${round}`)
        if (round === 3) break
        ws.reconnect()
        seen.push(ws.readyState)
        await log.until((l) => count(l, 'open') === round + 1, `open ${round + 1}`)
      }
      await closed(ws, log)
      return { seen, lines: log.lines }
    },
    expected: {
      seen: [0, 0],
      lines: [
        'open 1', 'message "round 1"', 'close 1006 "reconnect" false 3',
        'open 1', 'message "round 2"', 'close 1006 "reconnect" false 3',
        'open 1', 'message "round 3"', 'close 1000 "" true 3',
      ],
    },
  },
  {
    name: 'send() at once after reconnect() is buffered and goes out on the next socket, after what the first socket sent (rws: messages sent while reconnecting are queued)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.binaryType = 'arraybuffer'
      ws.send('before')
      await log.until((l) => count(l, 'message') === 1, 'the first echo')
      ws.reconnect()
      ws.send('right after reconnect()')
      ws.send(new Uint8Array([1, 2, 3]))
      const buffered = ws.bufferedAmount
      await log.until((l) => count(l, 'message') === 3, 'both echoed on the new socket')
      await closed(ws, log)
      return { buffered, lines: log.lines }
    },
    expected: {
      buffered: 26,
      lines: ['open 1', 'message "before"', 'close 1006 "reconnect" false 3', 'open 1', 'message "right after reconnect()"', 'message ArrayBuffer[1,2,3]', 'close 1000 "" true 3'],
    },
  },
  {
    name: 'send() in the close event of a socket that is to be replaced is buffered for the next one: a dropped link, reconnect()',
    async run(ctx) {
      const { ws, log } = await opened(ctx, `/drop?after=50&once=${key()}`)
      const thrown: string[] = []
      ws.addEventListener('close', (e) => {
        if (e.code !== 1006) return
        try {
          ws.send(`resubscribe after "${e.reason}"`)
        } catch (error) {
          thrown.push(String(error))
        }
      })
      await log.until((l) => count(l, 'message') === 1, 'the first echoed')
      ws.reconnect()
      await log.until((l) => count(l, 'message') === 2, 'the second echoed')
      await closed(ws, log)
      return { thrown, lines: log.lines }
    },
    expected: {
      thrown: [],
      lines: [
        'open 1', 'close 1006 "" false 3', 'open 1', 'message "resubscribe after \\"\\""',
        'close 1006 "reconnect" false 3', 'open 1', 'message "resubscribe after \\"reconnect\\""', 'close 1000 "" true 3',
      ],
    },
  },
  {
    name: 'reconnect() twice while connecting ends those attempts and opens one socket (rws, partysocket: calling to reconnect when not ready)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      ws.reconnect()
      ws.reconnect()
      const log = record(ws)
      await log.until((l) => count(l, 'open') === 1, 'open')
      await settle()
      const lines = [...log.lines]
      await closed(ws, log)
      return lines
    },
    expected: ['close 1006 "reconnect" false 3', 'close 1006 "reconnect" false 3', 'open 1'],
  },
  {
    name: 'with autoConnect false starts CLOSED, and reconnect() opens it (rws, partysocket: start closed)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, 'foobar', { ...QUICK, autoConnect: false })
      const log = record(ws)
      const before = ws.readyState
      await settle()
      ws.reconnect()
      await log.until((l) => count(l, 'open') === 1, 'open')
      ws.send('hello')
      await log.until((l) => count(l, 'message') === 1, 'echo')
      const protocol = ws.protocol
      await closed(ws, log)
      return { before, protocol, lines: log.lines }
    },
    expected: { before: 3, protocol: 'foobar', lines: ['open 1', 'message "hello"', 'close 1000 "" true 3'] },
  },
  {
    name: 'reconnect() after close() opens a new socket, and close() ends that one (rws, partysocket: reconnect after closing)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      await closed(ws, log)
      const first = ws.connection
      ws.reconnect()
      await log.until((l) => count(l, 'open') === 2, 'the second open')
      const renewed = ws.connection !== first
      await closed(ws, log)
      await settle()
      return { renewed, lines: log.lines }
    },
    expected: { renewed: true, lines: ['open 1', 'close 1000 "" true 3', 'open 1', 'close 1000 "" true 3'] },
  },
  {
    name: 'keeps its on* handlers across reconnects; listener objects and removeEventListener work as on any EventTarget (rws, partysocket: level0 event listeners are kept after reconnect, level2 event listeners)',
    async run(ctx: CaseContext) {
      const ws = new ctx.RWS(`${ctx.server}/drop?after=20&once=${key()}`, undefined, QUICK)
      const heard: string[] = []
      const onopen = () => heard.push('onopen')
      ws.onopen = onopen
      ws.onclose = () => heard.push('onclose')
      ws.addEventListener('open', { handleEvent: () => heard.push('handleEvent') })
      const removed = () => heard.push('removed')
      ws.addEventListener('open', removed)
      ws.removeEventListener('open', removed)
      ws.addEventListener('unknown' as 'open', removed)
      const log = record(ws)
      await log.until((l) => count(l, 'open') === 2, 'the second open')
      const kept = ws.onopen === onopen
      await closed(ws, log)
      return { kept, heard }
    },
    expected: { kept: true, heard: ['onopen', 'handleEvent', 'onclose', 'onopen', 'handleEvent', 'onclose'] },
  },
]
