import { ReconnectingWebSocket } from 'lifeline-ws'

// WebSocket code as it was, with `new WebSocket(url)` replaced. Talks to examples/server.ts: start that first.
const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${process.env.PORT ?? 8080}/live?name=bob`, undefined, {
  heartbeat: { interval: 1_000, timeout: 2_000 }, // off unless asked for: lifeline-ws/server answers the pings
})

ws.onopen = () => {
  console.log('open, readyState', ws.readyState)
  ws.send('hello from a drop-in')
}
ws.onmessage = (event) => {
  console.log('message:', event.data)
  ws.close(1000, 'done') // nothing reconnects after this
}
ws.onclose = (event) => console.log('close', event.code, event.reason, event.wasClean, 'readyState', ws.readyState)
