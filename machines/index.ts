export { connectionMachine } from './connection.machine.js'
export type { ConnectionMachine } from './connection.machine.js'
export type * from './connection.types.js'
