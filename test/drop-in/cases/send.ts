/** send(): text, binary, binaryType, buffering while connecting (Node and Chromium). */
import { closed, count, opened, QUICK, record, settle, thrown, type Case } from './record.js'

const TEXTS = ['Message to send', '', 'x'.repeat(65_000), '¥¥¥¥¥¥', '\uD801\uDC07']

export const sendCases: Case[] = [
  {
    name: 'sends text as it is: plain, empty, 65,000 characters, non-ASCII, a surrogate pair (WPT Send-data, Send-0byte-data, Send-65K-data, Send-unicode-data, Send-paired-surrogates)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      for (const text of TEXTS) ws.send(text)
      await log.until((l) => count(l, 'message') === TEXTS.length, 'the echoes')
      const echoed = log.lines.filter((l) => l.startsWith('message ')).map((l) => JSON.parse(l.slice(8)) as string)
      await closed(ws, log)
      return echoed.map((text, i) => text === TEXTS[i])
    },
    expected: TEXTS.map(() => true),
  },
  {
    name: 'sends a lone surrogate as U+FFFD and any other value as its string: null, a number, an object (WPT Send-Unpaired-Surrogates, Send-null; WebIDL USVString)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      for (const value of ['\uD807', null, 42, { toString: () => 'an object' }] as unknown[]) ws.send(value as string)
      const lines = await log.until((l) => count(l, 'message') === 4, 'the echoes')
      await closed(ws, log)
      return lines.slice(1)
    },
    expected: [`message ${JSON.stringify('\uFFFD')}`, 'message "null"', 'message "42"', 'message "an object"'],
  },
  {
    name: 'sends an ArrayBuffer and typed array views as exactly their bytes (WPT Send-binary-arraybuffer, Send-binary-arraybufferview-int8, -int16-offset, -uint8-offset-length, -float32, -float64)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.binaryType = 'arraybuffer'
      const buffer = new Uint8Array([10, 11, 12, 13, 14, 15, 16, 17]).buffer
      const sent = [buffer, new Int8Array([-1, 0, 1]), new Int16Array(buffer, 2, 1), new Uint8Array(buffer, 2, 3), new Float32Array([1.5]), new Float64Array([-2])]
      for (const data of sent) ws.send(data)
      const lines = await log.until((l) => count(l, 'message') === sent.length, 'the echoes')
      await closed(ws, log)
      return lines.slice(1)
    },
    expected: [
      'message ArrayBuffer[10,11,12,13,14,15,16,17]',
      'message ArrayBuffer[255,0,1]',
      'message ArrayBuffer[12,13]',
      'message ArrayBuffer[12,13,14]',
      `message ArrayBuffer[${[...new Uint8Array(new Float32Array([1.5]).buffer)].join(',')}]`,
      `message ArrayBuffer[${[...new Uint8Array(new Float64Array([-2]).buffer)].join(',')}]`,
    ],
  },
  {
    name: 'sends a Blob; delivers binary as a Blob or an ArrayBuffer by binaryType and ignores other values (WPT Send-binary-blob, binaryType-wrong-value; rws, partysocket: binaryType)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      ws.binaryType = 'blob'
      const log = record(ws)
      await log.until((l) => count(l, 'open') === 1, 'open')
      ws.binaryType = 'nodebuffer' as 'blob'
      const kept = ws.binaryType
      ws.send(new Blob([new Uint8Array([1, 2, 3])]))
      await log.until((l) => count(l, 'message') === 1, 'the Blob echo')
      ws.binaryType = 'arraybuffer'
      ws.send(new Blob(['abc']))
      await log.until((l) => count(l, 'message') === 2, 'the ArrayBuffer echo')
      await closed(ws, log)
      return { kept, messages: log.lines.filter((l) => l.startsWith('message')) }
    },
    expected: { kept: 'blob', messages: ['message Blob(3)', 'message ArrayBuffer[97,98,99]'] },
  },
  {
    name: 'needs an argument, and a Symbol is no string (WebIDL)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      const results = [thrown(() => (ws.send as () => void)()), thrown(() => ws.send(Symbol('x') as unknown as string))]
      await closed(ws, log)
      return results
    },
    expected: ['TypeError', 'TypeError'],
  },
  {
    name: 'buffers what is sent while connecting, counts it in bufferedAmount and sends it in order once open (rws, partysocket: enqueue messages before websocket initialization with expected order)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      const messages = ['message1', 'message2', 'méssage3']
      for (const message of messages) ws.send(message)
      const buffered = ws.bufferedAmount
      const log = record(ws)
      await log.until((l) => count(l, 'message') === 3, 'the echoes')
      const after = ws.bufferedAmount
      await closed(ws, log)
      return { buffered, after, lines: log.lines.slice(1, 4) }
    },
    expected: { buffered: 8 + 8 + 9, after: 0, lines: ['message "message1"', 'message "message2"', 'message "méssage3"'] },
  },
  {
    name: 'keeps the newest buffer.maxMessages while it cannot connect, and bufferedAmount counts those (rws, partysocket: respect maximum enqueued messages)',
    async run(ctx) {
      const ws = new ctx.RWS(`ws://127.0.0.1:${ctx.closedPort}/`, undefined, { reconnect: { maxAttempts: 1 }, buffer: { maxMessages: 2 } })
      ws.connection.on('error', () => {}) // the dropped ones are reported there (LIFELINE_BUFFER_OVERFLOW)
      const log = record(ws)
      for (let i = 0; i < 10; i++) ws.send('message')
      const buffered = ws.bufferedAmount
      await log.until((l) => count(l, 'close') === 1, 'the refusal')
      return buffered
    },
    expected: 2 * 'message'.length,
  },
  {
    name: '10,000 sends while CONNECTING keep the newest 1,000 (buffer.maxMessages), sent in order once open; each dropped one is an error on ws.connection, none on the socket',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, QUICK)
      const overflows: string[] = []
      ws.connection.on('error', (error) => overflows.push((error as { code?: string }).code ?? error.name))
      const log = record(ws)
      for (let i = 0; i < 10_000; i++) ws.send(`m${i}`)
      await log.until((l) => count(l, 'message') === 1_000, 'the echoes')
      await settle()
      const messages = log.lines.filter((l) => l.startsWith('message'))
      await closed(ws, log)
      return { overflows: overflows.length, codes: [...new Set(overflows)], socketErrors: count(log.lines, 'error'), first: messages[0], last: messages.at(-1), messages: messages.length }
    },
    expected: { overflows: 9_000, codes: ['LIFELINE_BUFFER_OVERFLOW'], socketErrors: 0, first: 'message "m9000"', last: 'message "m9999"', messages: 1_000 },
  },
  {
    name: 'throws an InvalidStateError when sending while connecting with buffer: false (WPT Send-before-open)',
    async run(ctx) {
      const ws = new ctx.RWS(`${ctx.server}/echo`, undefined, { ...QUICK, buffer: false })
      const result = thrown(() => ws.send('Message to send'))
      const log = record(ws)
      await log.until((l) => count(l, 'open') === 1, 'open')
      await closed(ws, log)
      return result
    },
    expected: 'DOMException InvalidStateError',
  },
  {
    name: 'throws an InvalidStateError when sending after close(), where the standard drops the data (deliberate)',
    async run(ctx) {
      const { ws, log } = await opened(ctx, '/echo')
      ws.close()
      const closing = thrown(() => ws.send('too late'))
      await log.until((l) => count(l, 'close') === 1, 'close')
      return [closing, thrown(() => ws.send('too late'))]
    },
    expected: ['DOMException InvalidStateError', 'DOMException InvalidStateError'],
  },
]
