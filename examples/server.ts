import { createHeartbeatServer } from 'lifeline-ws/server'

// Clients connect to ws://127.0.0.1:8080/live?name=alice
const server = createHeartbeatServer({ port: Number(process.env.PORT ?? 8080), path: '/live' })
const { port } = await server.listening
console.log(`listening on ws://127.0.0.1:${port}/live`)

server.on('connection', ({ name }) => console.log(`${name} joined (${server.clients.size} online)`))
server.on('message', ({ name, data }) => server.broadcast(`${name}: ${data}`)) // pings never get here
server.on('disconnect', ({ name, reason }) => console.log(`${name} left: ${reason}`))
process.once('SIGINT', () => void server.close()) // clients get 1001 and reconnect elsewhere
