export { createHeartbeatServer } from './server.js'
export { dialects } from './dialects.js'
export { nameFromQuery } from './options.js'
export { HeartbeatServerError, type HeartbeatServerErrorCode } from './errors.js'
export {
  CLOSE_FORBIDDEN,
  CLOSE_GOING_AWAY,
  CLOSE_NORMAL,
  CLOSE_REPLACED,
  CLOSE_SERVICE_RESTART,
  CLOSE_SLOW_CONSUMER,
  CLOSE_TRY_AGAIN_LATER,
  CLOSE_UNAUTHORIZED,
} from './codes.js'
export { formatCloseHint, parseCloseHint, type ServerHint } from '../hint.js'
export type * from './types.js'
export { MemorySessionStore } from './store.js'
export { parseSessionState, serializeSessionState, sessionKey } from './session-state.js'
