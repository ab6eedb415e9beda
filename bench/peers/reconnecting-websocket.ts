import RwsModule from 'reconnecting-websocket'
import { rwsStyleAdapter } from './rws-style.js'
import type { PeerAdapter } from './types.js'

// A CommonJS file (`module.exports = Class`) typed as `export default class`:
// from ESM the class is the default export at run time, `.default` for the types.
type Rws = typeof RwsModule.default
const ReconnectingWebSocket = ((RwsModule as unknown as { default?: Rws }).default ?? RwsModule) as Rws

// Its default minReconnectionDelay is drawn once when the module loads: one
// draw per browser page. Here hundreds of clients share a process, so each
// gets its own draw, as separate pages would.
export const adapter: PeerAdapter = rwsStyleAdapter(ReconnectingWebSocket as unknown as Parameters<typeof rwsStyleAdapter>[0], () => ({
  minReconnectionDelay: 1_000 + Math.random() * 4_000,
}))
