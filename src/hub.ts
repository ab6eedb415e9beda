import { createActor, setup, spawnChild, stopChild, type Actor } from 'xstate'
import type { ConnectionInput } from '../machines/connection.types.js'
import { LatenessClock } from './clock.js'
import { liveMachine, type LiveActor } from './live-machine.js'
import type { Clock, ConnectionOptions } from './types.js'

// Connections share one XState actor system per clock: a system of its own
// costs each actor about 2 KB of heap (its maps, its scheduler, a dozen
// closures). The hub is a machine whose only job is to spawn and stop them.
type HubEvent = { type: 'spawn'; id: string; input: ConnectionInput } | { type: 'stop'; id: string }

const hubMachine = setup({
  types: { events: {} as HubEvent },
  actors: { connection: liveMachine },
}).createMachine({
  on: {
    spawn: {
      actions: spawnChild('connection', {
        id: ({ event }) => event.id,
        input: ({ event }) => (event as Extract<HubEvent, { type: 'spawn' }>).input,
      }),
    },
    stop: { actions: stopChild(({ event }) => event.id) },
  },
})

interface Hub {
  clock: LatenessClock
  actor: Actor<typeof hubMachine>
}

const REAL_TIME = {}
const hubs = new WeakMap<object, Hub>()
let nextId = 0

/** The shared clock for connections on `base` (real timers when undefined). */
export function latenessClockFor(base: Clock | undefined): LatenessClock {
  return hubFor(base).clock
}

function hubFor(base: Clock | undefined): Hub {
  const key = base ?? REAL_TIME
  let hub = hubs.get(key)
  if (hub === undefined) {
    const clock = new LatenessClock(base)
    hub = { clock, actor: createActor(hubMachine, { clock }).start() }
    hubs.set(key, hub)
  }
  return hub
}

/** Stops a connection actor started by {@link startActor}. */
export function stopActor(actor: LiveActor): void {
  const parent = actor._parent as Actor<typeof hubMachine> | undefined
  if (parent === undefined) actor.stop()
  else parent.send({ type: 'stop', id: actor.id })
}

/**
 * Starts a connection actor on the hub for its clock. With an inspector it
 * gets a system of its own, so the inspector sees this connection only.
 */
export function startActor(input: ConnectionInput, base: Clock | undefined, inspect: ConnectionOptions['inspect']): LiveActor {
  const hub = hubFor(base)
  if (inspect !== undefined) return createActor(liveMachine, { input, clock: hub.clock, inspect }).start()
  const id = `connection-${nextId++}`
  hub.actor.send({ type: 'spawn', id, input })
  return (hub.actor.getSnapshot().children as Record<string, unknown>)[id] as LiveActor
}
