import { createActor, setup, spawnChild, stopChild, type Actor } from 'xstate'
import type { ConnectionInput } from '../machines/connection.types.js'
import { LatenessClock } from './clock.js'
import { liveMachine, type LiveActor } from './live-machine.js'
import type { Clock, ConnectionOptions } from './types.js'

// Connections share XState actor systems: a system of its own costs each
// actor about 1.5 KB of heap (its maps, its scheduler, a dozen closures). A
// hub is a machine whose only job is to spawn and stop them. XState copies a
// machine's children map on every spawn and stop, so a hub holds at most
// HUB_SIZE connections: creating and disposing cost the same at the 10,000th
// connection as at the first.
type HubEvent = { type: 'spawn'; id: string; input: ConnectionInput } | { type: 'stop'; id: string }

const HUB_SIZE = 64
const CHILD_IDS = Array.from({ length: HUB_SIZE }, (_, i) => `connection-${i}`)

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

type Hub = Actor<typeof hubMachine>

// Nothing global holds a hub: its connections do (each through its parent),
// and the one still filling is reached through a WeakRef. A connection the
// application dropped without dispose() (closed, failed, never opened: no
// socket, no timer) is collected with its hub once the hub's others are gone.
interface ClockShare {
  clock: LatenessClock
  filling: WeakRef<Hub> | undefined
  spawned: number
}

const REAL_TIME = {}
const shares = new WeakMap<object, ClockShare>()

function shareFor(base: Clock | undefined): ClockShare {
  const key = base ?? REAL_TIME
  let share = shares.get(key)
  if (share === undefined) {
    share = { clock: new LatenessClock(base), filling: undefined, spawned: 0 }
    shares.set(key, share)
  }
  return share
}

/** The shared clock for connections on `base` (real timers when undefined). */
export function latenessClockFor(base: Clock | undefined): LatenessClock {
  return shareFor(base).clock
}

/** Stops a connection actor started by {@link startActor}. */
export function stopActor(actor: LiveActor): void {
  const parent = actor._parent as Hub | undefined
  if (parent === undefined) actor.stop()
  else parent.send({ type: 'stop', id: actor.id })
}

/**
 * Starts a connection actor on a hub for its clock. With an inspector it
 * gets a system of its own, so the inspector sees this connection only.
 */
export function startActor(input: ConnectionInput, base: Clock | undefined, inspect: ConnectionOptions['inspect']): LiveActor {
  const share = shareFor(base)
  if (inspect !== undefined) return createActor(liveMachine, { input, clock: share.clock, inspect }).start()
  let hub = share.spawned < HUB_SIZE ? share.filling?.deref() : undefined
  if (hub === undefined) {
    hub = createActor(hubMachine, { clock: share.clock }).start()
    share.filling = new WeakRef(hub)
    share.spawned = 0
  }
  // Unique within its hub, and the same 64 names in every hub: a name never
  // seen before gave the hub's children object a hidden class of its own,
  // 0.26 KB that every connection kept.
  const id = CHILD_IDS[share.spawned++]!
  hub.send({ type: 'spawn', id, input })
  return (hub.getSnapshot().children as Record<string, unknown>)[id] as LiveActor
}
