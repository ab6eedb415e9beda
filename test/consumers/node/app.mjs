// A Node app using the installed package: its own server on an ephemeral
// loopback port, a client that exchanges a message and a heartbeat with it,
// then a refused attempt. Nothing calls process.exit: it must end by itself.
import { createConnection } from 'lifeline-ws'
import { createHeartbeatServer } from 'lifeline-ws/server'

const server = createHeartbeatServer({ port: 0, host: '127.0.0.1', path: '/live' })
const { port } = await server.listening
const url = `ws://127.0.0.1:${port}/live?name=app`

server.on('connection', ({ name }) => console.log(`server: ${name} joined`))
server.on('message', ({ name, data }) => server.send(name, `echo ${data}`))
server.on('disconnect', ({ name, reason }) => {
  console.log(`server: ${name} left (${reason})`)
  void server.close().then(refused)
})

const conn = createConnection({ url, heartbeat: { interval: 100, timeout: 2_000 } })
conn.on('state', ({ previous, state, reason }) => console.log(`client: ${previous} → ${state} (${reason})`))
conn.on('message', (data) => console.log(`client: got ${data}`))
conn.on('heartbeat', (beat) => {
  if (beat.type !== 'proof') return
  console.log('client: heartbeat answered')
  conn.close()
})
conn.send('hello')

// The server is gone: the same URL is refused now.
function refused() {
  const late = createConnection({ url, reconnect: false })
  late.on('error', (error) => console.log(`client: ${error.code}, cause ${error.cause.code}`))
  late.on('failed', ({ reason }) => {
    console.log(`client: failed (${reason})`)
    late.dispose()
  })
}
