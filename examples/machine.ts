import { createActor, SimulatedClock } from 'xstate'
import { connectionMachine, type ConnectionInput } from 'lifeline-ws/machine'

// The bare statechart: no socket, no timers of its own. Its effects do nothing
// until you provide them (lifeline-ws's adapter does), and a simulated clock
// fires its `after` timers, so a test or a tool drives it step by step.
const machine = connectionMachine.provide({
  actions: {
    openSocket: () => console.log('effect: open a socket'),
    sendPing: () => console.log('effect: send a ping'),
  },
})
const input: ConnectionInput = {
  connectTimeout: 10_000,
  closeTimeout: 5_000,
  heartbeat: { mode: 'client', interval: 5_000, timeout: 10_000, probeTimeout: 3_000 },
  reconnect: true,
  maxAttempts: 3,
  minUptime: 5_000,
  initialDelay: 1_000,
}
const clock = new SimulatedClock()
const actor = createActor(machine, { input, clock }).start()
const show = () => console.log('state:', JSON.stringify(actor.getSnapshot().value), 'attempt:', actor.getSnapshot().context.attempt)

actor.send({ type: 'open' })
actor.send({ type: 'socket.open' })
show()
clock.increment(5_000) // the heartbeat interval passes in silence
show()
clock.increment(10_000) // no proof of life within the timeout
show()
clock.increment(1_000) // the backoff delay
show()
actor.stop()
