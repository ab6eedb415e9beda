// A bench server in its own process, so the client's CPU and heap are measured
// alone. argv: kind (plain | lifeline | socketio), settings (common | defaults).
// It loads, says 'ready', and listens only when told: a restart scenario
// starts its replacement early so start-up time stays out of the measurement.
import { dieWithParent, reply } from '../child.js'
import type { ServerSettings } from '../settings.js'
import { Tracker } from './behaviour.js'
import type { RunningServer } from './types.js'
import { startLifeline } from './lifeline.js'
import { startPlain } from './plain.js'
import { startSocketIo } from './socketio.js'
import { performance } from 'node:perf_hooks'

dieWithParent()
const [kind = 'plain', settings = 'common'] = process.argv.slice(2) as [string?, ServerSettings?]
const tracker = new Tracker()
let running: RunningServer | undefined

const start = { plain: startPlain, lifeline: startLifeline, socketio: startSocketIo }[kind]
if (start === undefined) throw new Error(`unknown server kind ${kind}`)

process.on('message', (message: { cmd: string; port?: number; within?: number }) => {
  if (message.cmd === 'listen') {
    // Everything is loaded: binding follows within a millisecond, and no
    // connection can be accepted before this turn of the event loop ends.
    tracker.listenAt = performance.now()
    start(message.port ?? 0, tracker, settings).then(
      (server) => {
        running = server
        reply({ ev: 'listening', port: server.port })
      },
      (error: unknown) => reply({ ev: 'error', message: `server ${kind} could not listen: ${String(error)}` }),
    )
  } else if (message.cmd === 'close') {
    // A graceful restart: every client gets the server's hint, then the port is free.
    if (running?.closeWithHint === undefined) return reply({ ev: 'error', message: `server ${kind} has no restart hint` })
    running.closeWithHint(message.within ?? 0).then(
      () => reply({ ev: 'closed' }),
      (error: unknown) => reply({ ev: 'error', message: `server ${kind} could not close: ${String(error)}` }),
    )
  } else if (message.cmd === 'stats') {
    const cpu = process.cpuUsage()
    reply({ ev: 'stats', open: tracker.open, maxOpen: tracker.maxOpen, total: tracker.total, arrivals: tracker.arrivals, cpuMicros: cpu.user + cpu.system })
  }
})
reply({ ev: 'ready' })
