// Run by test/drop-in/node.test.ts with --expose-gc: opens drop-ins against
// a local ws server, closes them, drops them, and prints how many of them, and
// of their connections' actors, the garbage collector reclaimed.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { ReconnectingWebSocket } from '../../src/index.node.js'

const COUNT = 300
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
await once(wss, 'listening')
const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`

let collected = 0
let actorsCollected = 0
const registry = new FinalizationRegistry<'socket' | 'actor'>((kind) => void (kind === 'socket' ? collected++ : actorsCollected++))

async function openAndClose(): Promise<void> {
  const ws = new ReconnectingWebSocket(url)
  registry.register(ws, 'socket')
  registry.register(ws.connection.actor, 'actor')
  await once(ws, 'open')
  ws.close()
  await once(ws, 'close')
}

await Promise.all(Array.from({ length: COUNT }, openAndClose))
const gc = (globalThis as { gc?: () => void }).gc!
for (let round = 0; round < 10 && (collected < COUNT || actorsCollected < COUNT); round++) {
  gc()
  await new Promise((resolve) => setTimeout(resolve, 20))
}
console.log(JSON.stringify({ created: COUNT, collected, actorsCollected }))
for (const client of wss.clients) client.terminate()
wss.close()
