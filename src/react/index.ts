export { useConnection, useConnectionEvent, useConnectionState, type UseConnectionOptions } from './hooks.js'
export { RELEASE_DELAY } from './pool.js'
export type { Connection, ConnectionEventMap, ConnectionOptions, ConnectionStateName } from '../types.js'
