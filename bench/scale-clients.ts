// Thousands of idle clients in one process, for the server-at-scale scenario:
// bare ws sockets, which answer WebSocket pings by themselves (what every
// ws-based client does), or the same sockets speaking the few engine.io
// packets a socket.io server needs: '40' to join the default namespace, '3'
// for each ping '2'. One client process serves every server kind, so only
// the servers differ.
import WebSocket from 'ws'
import { dieWithParent, reply } from './child.js'
import { inBatches, within } from './util.js'

export interface OpenCommand {
  cmd: 'open'
  /** ws://host:port, without a path. */
  base: string
  count: number
  protocol: 'ws' | 'engine.io'
}

const sockets: WebSocket[] = []
let closed = 0
let shuttingDown = false

function openOne(base: string, protocol: OpenCommand['protocol'], index: number): Promise<void> {
  const url = protocol === 'engine.io' ? `${base}/socket.io/?EIO=4&transport=websocket` : `${base}/?name=client-${index}`
  const socket = new WebSocket(url)
  sockets.push(socket)
  socket.on('error', () => {})
  socket.on('close', () => void (shuttingDown || closed++))
  return within(new Promise<void>((resolve, reject) => {
    socket.once('close', () => reject(new Error(`client ${index} closed before it was ready`)))
    if (protocol === 'ws') return socket.once('open', () => resolve())
    socket.on('message', (data: Buffer) => {
      const packet = data.toString()
      if (packet === '2') socket.send('3')
      else if (packet.startsWith('0{')) socket.send('40')
      else if (packet.startsWith('40')) resolve()
    })
  }), 30_000, `client ${index} ready`)
}

dieWithParent()
process.on('message', (message: OpenCommand | { cmd: 'closed' | 'end' }) => {
  if (message.cmd === 'open') {
    const first = sockets.length
    inBatches(message.count, 200, (i) => openOne(message.base, message.protocol, first + i)).then(
      () => reply({ ev: 'opened', total: sockets.length }),
      (error: unknown) => reply({ ev: 'error', message: String(error) }),
    )
  } else if (message.cmd === 'closed') {
    reply({ ev: 'closed', closed })
  } else if (message.cmd === 'end') {
    shuttingDown = true
    for (const socket of sockets) socket.terminate()
    reply({ ev: 'ended' })
  }
})
reply({ ev: 'ready' })
