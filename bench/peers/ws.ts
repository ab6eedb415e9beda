// The floor: a bare ws client. In the heartbeat-CPU scenario it gets the
// simplest hand-written heartbeat (one setInterval per connection), which is
// what an application without a library would write.
import WebSocket from 'ws'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    const ws = new WebSocket(`ws://${HOST}:${port}/`)
    const { message, down } = handlers
    let timer: NodeJS.Timeout | undefined
    let lastSeen = performance.now()
    ws.on('open', () => {
      lastSeen = performance.now()
      handlers.open()
      if (mode === 'cpu') {
        timer = setInterval(() => {
          if (performance.now() - lastSeen > COMMON.heartbeatInterval + COMMON.heartbeatTimeout) ws.terminate()
          else ws.send('ping')
        }, COMMON.heartbeatInterval)
      }
    })
    // The floor does no more per frame than an application must: the time
    // stamp only where the hand-written heartbeat needs it.
    if (mode === 'cpu') ws.on('message', () => void (lastSeen = performance.now()))
    if (message !== undefined) ws.on('message', (data: Buffer, isBinary) => void (isBinary || message(data.toString())))
    ws.on('close', () => {
      clearInterval(timer)
      down?.('close')
    })
    ws.on('error', () => {})
    return {
      send: (data) => ws.send(data),
      close: () => {
        clearInterval(timer)
        ws.terminate()
      },
    }
  },
}
