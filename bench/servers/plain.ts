// A plain ws server: what every ws-based peer talks to. It answers through
// raw frames (see raw.ts) so that it is never what limits a client's figures.
import WebSocket, { WebSocketServer } from 'ws'
import { HOST, PAYLOAD } from '../settings.js'
import { respond, type Tracker } from './behaviour.js'
import { FrameBatcher, pushFrames, tcpOf, textFrame } from './raw.js'
import type { RunningServer } from './types.js'

const P = 0x70 // 'p': only short messages starting with it ('ping', 'push:N') are read as commands
const PAYLOAD_FRAME = textFrame(Buffer.from(PAYLOAD))

export function startPlain(port: number, tracker: Tracker): Promise<RunningServer> {
  const wss = new WebSocketServer({ host: HOST, port, clientTracking: false })
  wss.on('connection', (socket: WebSocket) => {
    const left = tracker.connected()
    socket.on('close', left)
    socket.on('error', () => {})
    const batcher = new FrameBatcher(tcpOf(socket))
    const sendText = (text: string): void => batcher.add(textFrame(Buffer.from(text)))
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary || data.length >= 126) {
        batcher.flush() // keep the order: what was queued goes first
        return socket.send(data, { binary: isBinary })
      }
      if (data.length > 16 || data[0] !== P) return batcher.add(textFrame(data))
      const count = respond(data.toString(), sendText)
      if (count > 0) {
        batcher.flush()
        pushFrames(tcpOf(socket), PAYLOAD_FRAME, count)
      }
    })
  })
  return new Promise((resolve, reject) => {
    wss.once('error', reject)
    wss.once('listening', () => {
      const address = wss.address()
      resolve({ port: typeof address === 'object' && address !== null ? address.port : port })
    })
  })
}
