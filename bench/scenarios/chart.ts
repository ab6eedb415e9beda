// The connection statechart alone, as the floor under lifeline's figures:
// XState running it with the placeholder effects, spawned 64 to a hub actor
// as connections are (src/hub.ts), with no adapter, socket or options.
import { pathToFileURL } from 'node:url'
import type { AnyActorRef } from 'xstate'
import type { Clock } from '../../src/types.js'
import type { ConnectionInput } from '../../machines/index.js'
import { BUILT } from '../build.js'
import { COMMON } from '../settings.js'

const HUB_SIZE = 64
const IDS = Array.from({ length: HUB_SIZE }, (_, i) => `connection-${i}`)
const INPUT: ConnectionInput = {
  connectTimeout: 10_000,
  closeTimeout: 1_000,
  heartbeat: { mode: 'client', interval: COMMON.heartbeatInterval, timeout: COMMON.heartbeatTimeout, probeTimeout: COMMON.heartbeatTimeout },
  reconnect: true,
  maxAttempts: Infinity,
  initialDelay: COMMON.reconnectDelay,
  minUptime: 5_000,
  adapter: undefined,
}

/** Spawns chart actors on `clock`, each driven to open.waiting (its heartbeat timer pending). */
export async function chartActors(clock: Clock): Promise<{ add(): AnyActorRef; stop(): void }> {
  const { connectionMachine } = (await import(pathToFileURL(BUILT.machine).href)) as typeof import('../../machines/index.js')
  // Loaded here: the worker jobs that do not use it hold only the library they measure.
  const { createActor, setup, spawnChild } = await import('xstate')
  const hubMachine = setup({ types: { events: {} as { type: 'spawn'; id: string; input: ConnectionInput } }, actors: { connection: connectionMachine } }).createMachine({
    on: { spawn: { actions: spawnChild('connection', { id: ({ event }) => event.id, input: ({ event }) => event.input }) } },
  })
  const hubs: AnyActorRef[] = []
  let inHub = HUB_SIZE
  return {
    add() {
      if (inHub === HUB_SIZE) {
        hubs.push(createActor(hubMachine, { clock }).start())
        inHub = 0
      }
      const hub = hubs.at(-1)!
      const id = IDS[inHub++]!
      hub.send({ type: 'spawn', id, input: INPUT })
      const actor = (hub.getSnapshot().children as Record<string, AnyActorRef>)[id]!
      actor.send({ type: 'open' })
      actor.send({ type: 'socket.open' })
      return actor
    },
    stop() {
      for (const hub of hubs) hub.stop()
    },
  }
}
