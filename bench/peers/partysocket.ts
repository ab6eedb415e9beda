import ReconnectingWebSocket from 'partysocket/ws'
import { rwsStyleAdapter } from './rws-style.js'
import type { PeerAdapter } from './types.js'

export const adapter: PeerAdapter = rwsStyleAdapter(ReconnectingWebSocket as unknown as Parameters<typeof rwsStyleAdapter>[0])
