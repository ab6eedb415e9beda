// A page bundled by Vite (moduleResolution: bundler, DOM library, no Node
// types): the browser entry of lifeline-ws, which must not pull in `ws`.
import { createConnection, type MessageData } from 'lifeline-ws'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

// The browser's WebSocket as it is typed: no cast.
const conn = createConnection({ url: new URL('/live', location.href.replace(/^http/, 'ws')), WebSocket: globalThis.WebSocket })

const output = document.querySelector('#state')
conn.on('state', ({ state }) => {
  if (output) output.textContent = state
})
const exactMessage: Equal<MessageData, string | ArrayBuffer> = true
conn.on('message', (data) => console.log(typeof data === 'string' ? data : data.byteLength))

// @ts-expect-error reconnect.maxAttempts is a number
createConnection({ url: 'wss://example.com/', reconnect: { maxAttempts: 'forever' } })

export { exactMessage }
