// Loads one adapter on demand, so a worker process holds only the library it measures.
import type { PeerName } from './catalog.js'
import type { PeerAdapter } from './types.js'

const loaders: Record<PeerName, () => Promise<{ adapter: PeerAdapter }>> = {
  ws: () => import('./ws.js'),
  lifeline: () => import('./lifeline.js'),
  'reconnecting-websocket': () => import('./reconnecting-websocket.js'),
  partysocket: () => import('./partysocket.js'),
  'socket.io-client': () => import('./socket.io-client.js'),
  'websocket-heartbeat-js': () => import('./websocket-heartbeat-js.js'),
}

export async function loadPeer(name: PeerName): Promise<PeerAdapter> {
  return (await loaders[name]()).adapter
}
