import { createConnection } from 'lifeline-ws'

// Talks to examples/server.ts: start that first.
const conn = createConnection({
  url: `ws://127.0.0.1:${process.env.PORT ?? 8080}/live?name=alice`,
  heartbeat: { interval: 1_000, timeout: 2_000 }, // ping after 1 s of silence, dead 2 s later without an answer
  reconnect: { initialDelay: 500, maxDelay: 10_000 }, // full jitter, capped exponential backoff
})

conn.on('state', ({ previous, state, reason }) => console.log(`${previous} → ${state} (${reason})`))
conn.on('message', (data) => console.log('got', data))
conn.on('heartbeat', (beat) => {
  if (beat.type !== 'proof') return
  console.log('heartbeat answered')
  conn.close() // nothing reconnects after this; the process exits once the socket is closed
})

conn.send('hello everyone') // still connecting: buffered, and sent once open
