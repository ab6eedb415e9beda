/** readyState through a close, close() codes and reasons (Node and Chromium). */
import { closed, count, opened, QUICK, record, settle, thrown, type Case } from './record.js'

export const closeCases: Case[] = [
  {
    name: 'goes CONNECTING, OPEN, CLOSING right after close(), CLOSED in the close event, which echoes the code and reason cleanly (WPT Close-1000-reason, Close-3000-verify-code, Close-4999-reason, Close-readyState-Closing, Close-readyState-Closed; rws, partysocket: connect, send, receive, close)',
    async run(ctx) {
      const seen: unknown[] = []
      for (const [code, reason] of [[1000, 'Clean Close'], [3000, 'Clean Close'], [4999, 'Close with 4999']] as const) {
        const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
        const log = record(ws)
        seen.push(ws.readyState)
        seen.push(...(await log.until((l) => count(l, 'open') === 1, 'open')))
        ws.close(code, reason)
        seen.push(ws.readyState)
        seen.push((await log.until((l) => count(l, 'close') === 1, 'close')).at(-1))
      }
      return seen
    },
    expected: [
      0, 'open 1', 2, 'close 1000 "Clean Close" true 3',
      0, 'open 1', 2, 'close 3000 "Clean Close" true 3',
      0, 'open 1', 2, 'close 4999 "Close with 4999" true 3',
    ],
  },
  {
    name: 'close() and close(undefined) close with code 1000 and no reason (WPT Close-undefined; Close-1005-verify-code expects 1005: a deliberate difference)',
    async run(ctx) {
      const seen: string[] = []
      for (const args of [[], [undefined]] as const) {
        const { ws, log } = await opened(ctx, '/echo')
        ws.close(...args)
        seen.push(...(await log.until((l) => count(l, 'close') === 1, 'close')))
      }
      return seen
    },
    expected: ['open 1', 'close 1000 "" true 3', 'open 1', 'close 1000 "" true 3'],
  },
  {
    name: 'throws an InvalidAccessError for a code other than 1000 or 3000–4999 and stays open (WPT close-invalid, Close-1005, Close-2999-reason, Close-onlyReason)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      const codes: unknown[] = [0, 500, NaN, 'string', null, 0x10000 + 1000, 1005, 1001, 2999, 5000, 'Close with only reason']
      const results = codes.map((code) => thrown(() => ws.close(code as number)))
      const after = ws.readyState
      await closed(ws, log)
      return { results, after, events: log.lines }
    },
    expected: { results: Array(11).fill('DOMException InvalidAccessError'), after: 1, events: ['open 1', 'close 1000 "" true 3'] },
  },
  {
    name: 'clamps the code as WebIDL [Clamp] unsigned short does: halves to even, strings to numbers',
    async run(ctx) {
      const seen: string[] = []
      for (const code of [3000.4, 2999.5, '4000'] as unknown[]) {
        const { ws, log } = await opened(ctx, '/echo')
        ws.close(code as number)
        seen.push((await log.until((l) => count(l, 'close') === 1, 'close')).at(-1)!)
      }
      return seen
    },
    expected: ['close 3000 "" true 3', 'close 3000 "" true 3', 'close 4000 "" true 3'],
  },
  {
    name: 'throws a SyntaxError for a reason over 123 UTF-8 bytes, lone surrogates counted as U+FFFD (WPT Close-Reason-124Bytes)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      const reasons = ['a'.repeat(124), 'é'.repeat(62), '\uD807'.repeat(42), 'a'.repeat(123)]
      const results = reasons.slice(0, 3).map((reason) => thrown(() => ws.close(1000, reason)))
      ws.close(1000, reasons[3])
      const [, closing] = await log.until((l) => count(l, 'close') === 1, 'close')
      return { results, closing }
    },
    expected: { results: Array(3).fill('DOMException SyntaxError'), closing: `close 1000 ${JSON.stringify('a'.repeat(123))} true 3` },
  },
  {
    name: 'sends a lone surrogate in the reason as U+FFFD (WPT Close-reason-unpaired-surrogates)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.close(1000, 'reason \uD807')
      return (await log.until((l) => count(l, 'close') === 1, 'close')).at(-1)
    },
    expected: `close 1000 ${JSON.stringify('reason \uFFFD')} true 3`,
  },
  {
    name: 'checks its arguments when already closed, then does nothing; several close() calls make one close event (rws, partysocket: calling to close multiple times)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.close()
      ws.close()
      ws.close(4000)
      await log.until((l) => count(l, 'close') === 1, 'close')
      const invalid = thrown(() => ws.close(0))
      ws.close()
      await settle()
      return { invalid, events: log.lines }
    },
    expected: { invalid: 'DOMException InvalidAccessError', events: ['open 1', 'close 1000 "" true 3'] },
  },
  {
    name: 'close() while connecting fails the connection: CLOSING, then error and close 1006 not clean, never open (the standard; rws, partysocket: connect and close before establishing connection)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      const log = record(ws)
      ws.close(4000, 'ignored while connecting')
      const closing = ws.readyState
      await log.until((l) => count(l, 'close') === 1, 'close')
      await settle()
      return { closing, events: log.lines, after: ws.readyState }
    },
    expected: { closing: 2, events: ['error 3', 'close 1006 "" false 3'], after: 3 },
  },
  {
    name: 'dispatches events after the call that caused them: handlers set right after close() still hear it (the standard queues them as tasks)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      ws.close()
      const heard: string[] = []
      ws.onerror = () => heard.push('error')
      ws.onclose = (e) => heard.push(`close ${e.code}`)
      await settle()
      return heard
    },
    expected: ['error', 'close 1006'],
  },
  {
    name: 'drops messages that arrive after close() (the standard delivers only while OPEN)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.send('answered while closing')
      ws.close()
      await log.until((l) => count(l, 'close') === 1, 'close')
      return log.lines
    },
    expected: ['open 1', 'close 1000 "" true 3'],
  },
]
