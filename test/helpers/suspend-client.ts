/**
 * A lifeline client in a process of its own, for the suspension tests: a
 * process can only be stopped whole. It reports every state and heartbeat
 * event with its wall clock (which keeps running while it is stopped, and is
 * the parent's too), and stops itself with SIGSTOP at the heartbeat phase it
 * is told, once the link is settled; the parent sends SIGCONT. Stopping
 * itself, after the 'stopping' message has left, puts the stop exactly at
 * the phase: a signal from the parent would come an IPC round trip late. It
 * exits with its parent.
 */
import { createConnection, type HeartbeatOptions } from '../../src/index.node.js'

export interface SuspendCommand {
  url: string
  heartbeat: HeartbeatOptions
  /** Stop this long after the heartbeat event `after` (the second one: the first cycles settle the link). */
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
    setTimeout(() => report({ ev: 'stopping', at: Date.now() }, () => process.kill(process.pid, 'SIGSTOP')), command.stop.delay)
  })
  conn.on('error', () => {})
})
report({ ev: 'ready' })
