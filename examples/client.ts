import { createConnection } from 'lifeline'

const conn = createConnection({ url: `ws://127.0.0.1:${process.env.PORT ?? 8080}/live?name=alice` })
conn.on('state', ({ previous, state, reason }) => console.log(`${previous} → ${state} (${reason})`))
conn.on('message', (data) => console.log(data))
conn.on('open', () => conn.send('hello everyone'))
process.once('SIGINT', () => conn.close())
