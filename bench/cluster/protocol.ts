// What the processes of the cluster scenario say to each other, and the
// clock they share. Every server node and every client set is its own
// process; the scenario (the bench's main process) drives them over IPC.
import { dieWithParent, reply } from '../child.js'
import { PAYLOAD } from '../settings.js'

/** The three systems measured side by side: lifeline in both delivery modes, and socket.io with its Redis adapter. */
export type ClusterSystem = 'lifeline' | 'lifeline-reliable' | 'socket.io'
export const SYSTEMS: readonly ClusterSystem[] = ['lifeline', 'lifeline-reliable', 'socket.io']

/**
 * `process.hrtime.bigint()` reads CLOCK_MONOTONIC on Linux: one clock for
 * every process on the machine, so a time stamped in a server node and one
 * read in a client process can be subtracted. The scenario checks that with
 * IPC round trips before it trusts it (see `clockOffset` in cluster.ts).
 */
export const clock = (): bigint => process.hrtime.bigint()

/** CPU time this process has used, user and system, in µs. */
export function cpuMicros(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** Nanoseconds to milliseconds. */
export const ms = (ns: bigint): number => Number(ns) / 1e6

/** A latency probe: its index and the sender's clock at send(). */
export const probe = (index: number, sentAt: bigint): string => `L ${index} ${sentAt}`

export function readProbe(text: string): { index: number; sentAt: bigint } | undefined {
  if (!text.startsWith('L ')) return undefined
  const [, index, sentAt] = text.split(' ')
  return { index: Number(index), sentAt: BigInt(sentAt!) }
}

/** A broadcast message: its index, then the 64-byte payload of the other scenarios. */
export const broadcastMessage = (index: number): string => `B ${index} ${PAYLOAD}`

/** The index of a broadcast message, or -1 for anything else. */
export function broadcastIndex(text: string): number {
  if (!text.startsWith('B ')) return -1
  return Number.parseInt(text.slice(2, text.indexOf(' ', 2)), 10)
}

/** How a client set dials: which system, and one URL per client (its name is in the URL). */
export interface Dial {
  system: ClusterSystem
  clients: Array<{ name: string; port: number }>
}

/** Where one client set stands in a broadcast run. */
export interface FanOutReport {
  /** Messages received, all clients together. */
  deliveries: number
  /** Received again, or before one that was due (a gap). */
  duplicates: number
  outOfOrder: number
  /** Clients that got the last message, and the clock when the last of them did. */
  finished: number
  lastAt: bigint | null
  /** Closes and reconnects seen during the run (none expected). */
  drops: number
}

/** The command every process of the scenario answers: its clock, and the CPU it has used. */
export interface ClockCommand {
  cmd: 'clock'
}

/**
 * In a node or client-set process: runs `handle` for every command from the
 * scenario (one that fails is answered with 'error'), answers 'clock' itself,
 * exits with the scenario, and says 'ready'.
 */
export function serve<C extends { cmd: string }>(role: string, handle: (command: C) => Promise<void>): void {
  dieWithParent()
  process.on('message', (command: C | ClockCommand) => {
    if (command.cmd === 'clock') return reply({ ev: 'clock', at: clock(), cpuMicros: cpuMicros() })
    handle(command as C).catch((error: unknown) => reply({ ev: 'error', message: `${role} (${command.cmd}): ${error instanceof Error ? error.stack ?? error.message : String(error)}` }))
  })
  reply({ ev: 'ready' })
}
