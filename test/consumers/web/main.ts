// A page bundled by Vite (moduleResolution: bundler, DOM library, no Node
// types): the browser entry of lifeline-ws and lifeline-ws/react, which must
// not pull in `ws` or the server.
import { createElement } from 'react'
import { createRoot } from 'react-dom/client'
import { createConnection, ReconnectingWebSocket, type MessageData } from 'lifeline-ws'
import { useConnection, useConnectionEvent, useConnectionState } from 'lifeline-ws/react'

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

// The drop-in goes where a WebSocket goes.
const socket: WebSocket = new ReconnectingWebSocket('/live', undefined, { autoConnect: false })
socket.onmessage = (event: MessageEvent<string>) => console.log(event.data.length)

function Status() {
  const live = useConnection({ url: new URL('/live', location.href.replace(/^http/, 'ws')) })
  const state = useConnectionState(live)
  useConnectionEvent(live, 'message', (data) => console.log(typeof data))
  return createElement('p', null, state)
}
const root = document.querySelector('#react')
if (root) createRoot(root).render(createElement(Status))

export { exactMessage, socket }
