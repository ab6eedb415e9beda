// What the bench knows about each peer without loading it: the orchestrator
// prints this; workers load the adapter (peers/<name>.ts) of the one they measure.
import { COMMON } from '../settings.js'

export const PEERS = ['ws', 'lifeline', 'reconnecting-websocket', 'partysocket', 'socket.io-client', 'websocket-heartbeat-js'] as const
export type PeerName = (typeof PEERS)[number]

/** The server a peer talks to: a plain ws server, lifeline's helper, or socket.io. */
export type ServerKind = 'plain' | 'lifeline' | 'socketio'

export interface PeerInfo {
  name: PeerName
  /** The npm package whose version is printed. */
  pkg: string
  server: ServerKind
  /** Why a feature is missing, or `null` when the peer has it. */
  noHeartbeat: string | null
  noReconnect: string | null
  /** The settings used in the comparable scenarios, and in `herd` (each library's defaults). */
  common: string
  defaults: string
  /** Notes printed under the settings. */
  notes: string[]
  /** The browser bundle's entry source (esbuild stdin), or why there is none. */
  bundle: { source: string } | { none: string }
}

const { heartbeatInterval: hb, heartbeatTimeout: to, reconnectDelay: rd } = COMMON

export const CATALOG: Record<PeerName, PeerInfo> = {
  ws: {
    name: 'ws',
    pkg: 'ws',
    server: 'plain',
    noHeartbeat: 'no heartbeat',
    noReconnect: 'no reconnect',
    common: 'bare client: no heartbeat, no reconnect (the floor); in the heartbeat-CPU scenario a hand-written heartbeat: setInterval(1000) per connection sends \'ping\', terminates after 2000 ms without a frame',
    defaults: 'no reconnect',
    notes: [],
    bundle: { none: 'the browser\'s own WebSocket (0 B)' },
  },
  lifeline: {
    name: 'lifeline',
    pkg: 'lifeline-ws',
    server: 'lifeline',
    noHeartbeat: null,
    noReconnect: null,
    common: `heartbeat { interval: ${hb}, timeout: ${to} } (proof: 'any'), reconnect { initialDelay: ${rd}, maxDelay: ${rd} } (full jitter: delay in [0, ${rd}])`,
    defaults: 'defaults: heartbeat { interval: 5000, timeout: 10000 }, reconnect { initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 1 }',
    notes: [
      `server: createHeartbeatServer({ heartbeat: { interval: ${hb}, timeout: ${to} } }) (protocol pings every ${hb} ms, answers 'ping' with 'pong'); in the hot-path and memory scenarios the plain ws server instead, like bare ws, so the ratio measures the client alone`,
      'the client and the helper are the working tree compiled by tsc (as `npm run build` does) into node_modules/.cache/lifeline-bench, not run through tsx (its keepNames wrapping adds a property store to every closure)',
      'heartbeat CPU also runs lifeline against the plain server, and server-driven (heartbeat.mode \'server\' on client and helper)',
    ],
    bundle: { source: "export * from './src/index.ts'" },
  },
  'reconnecting-websocket': {
    name: 'reconnecting-websocket',
    pkg: 'reconnecting-websocket',
    server: 'plain',
    noHeartbeat: 'no heartbeat',
    noReconnect: null,
    common: `{ WebSocket: ws, minReconnectionDelay: ${rd}, maxReconnectionDelay: ${rd}, reconnectionDelayGrowFactor: 1 }`,
    defaults: 'defaults: minReconnectionDelay 1000 + random·4000 (drawn once per socket), maxReconnectionDelay 10000, grow factor 1.3',
    notes: [],
    bundle: { source: "export { default } from 'reconnecting-websocket'" },
  },
  partysocket: {
    name: 'partysocket',
    pkg: 'partysocket',
    server: 'plain',
    noHeartbeat: 'no heartbeat',
    noReconnect: null,
    common: `partysocket/ws ReconnectingWebSocket { WebSocket: ws, minReconnectionDelay: ${rd}, maxReconnectionDelay: ${rd}, reconnectionDelayGrowFactor: 1 }`,
    defaults: 'defaults: minReconnectionDelay 3000, maxReconnectionDelay 10000, grow factor 1.3 (no jitter)',
    notes: [],
    bundle: { source: "export { default } from 'partysocket/ws'" },
  },
  'socket.io-client': {
    name: 'socket.io-client',
    pkg: 'socket.io-client',
    server: 'socketio',
    noHeartbeat: null,
    noReconnect: null,
    common: `io(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: ${rd}, reconnectionDelayMax: ${rd} }) (randomizationFactor 0.5: delay in [${rd / 2}, ${rd * 1.5}]); server { pingInterval: ${hb}, pingTimeout: ${to} }`,
    defaults: 'defaults: reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5; server pingInterval 25000, pingTimeout 20000',
    notes: ['heartbeat is server-driven: the server pings, the client expects a ping within pingInterval + pingTimeout', 'websocket transport only (no long-polling upgrade), one Manager per connection'],
    bundle: { source: "export { io } from 'socket.io-client'" },
  },
  'websocket-heartbeat-js': {
    name: 'websocket-heartbeat-js',
    pkg: 'websocket-heartbeat-js',
    server: 'plain',
    noHeartbeat: null,
    noReconnect: null,
    common: `{ pingTimeout: ${hb}, pongTimeout: ${to}, reconnectTimeout: ${rd}, pingMsg: 'ping' }`,
    defaults: 'defaults: pingTimeout 15000, pongTimeout 10000, reconnectTimeout 2000 (fixed, no jitter)',
    notes: [
      'browser-only (uses the global WebSocket): run with globalThis.WebSocket = ws in its bench process',
      'on a pong timeout it calls ws.close(), which on a dead link waits for the close handshake (ws gives up after 30 s) before its onclose/reconnect',
    ],
    bundle: { source: "import W from 'websocket-heartbeat-js'; export default W" },
  },
}
