/**
 * A lifeline client in a process of its own, for the suspension tests: a
 * process can only be stopped whole. It reports every state and heartbeat
 * event with its wall clock (which keeps running while it is stopped, and is
 * the parent's too), and says 'stopping' at the heartbeat phase it is told,
 * once the link is settled: the parent then sends SIGSTOP, and SIGCONT
 * later. The signal comes from outside on purpose: it finds the process idle
 * in its event loop's wait for I/O, as a stop usually does, and after SIGCONT
 * that wait ends with the due timers run first. (A process that stopped
 * itself from a callback would read its sockets first and hide the defect.)
 * It exits with its parent.
 */
import { createConnection, type HeartbeatOptions } from '../../src/index.node.js'

export interface SuspendCommand {
  url: string
  heartbeat: HeartbeatOptions
  /** Say 'stopping' this long after the heartbeat event `after` (the second one: the first cycles settle the link). */
  stop: { after: 'ping' | 'proof'; delay: number }
}

export type SuspendReport =
  | { ev: 'ready' }
  | { ev: 'state'; state: string; previous: string; reason: string; at: number }
  | { ev: 'heartbeat'; type: string; at: number }
  | { ev: 'stopping'; at: number }

const report = (message: SuspendReport, then: () => void = () => {}): void => {
  process.send?.(message, then)
}

process.once('disconnect', () => process.exit(0))
process.once('message', (command: SuspendCommand) => {
  const conn = createConnection({ url: command.url, heartbeat: command.heartbeat, reconnect: { initialDelay: 50, maxDelay: 100 } })
  let seen = 0
  conn.on('state', ({ state, previous, reason }) => report({ ev: 'state', state, previous, reason, at: Date.now() }))
  conn.on('heartbeat', ({ type }) => {
    report({ ev: 'heartbeat', type, at: Date.now() })
    if (type !== command.stop.after || ++seen !== 2) return
    setTimeout(() => report({ ev: 'stopping', at: Date.now() }), command.stop.delay)
  })
  conn.on('error', () => {})
})
report({ ev: 'ready' })
