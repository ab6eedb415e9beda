import { assign, type Actor } from 'xstate'
import { connectionMachine } from '../machines/connection.machine.js'
import type { ConnectionContext, ConnectionStateName } from '../machines/connection.types.js'
import { SocketAdapter } from './adapter.js'

const adapterOf = (context: ConnectionContext): SocketAdapter | undefined =>
  context.adapter instanceof SocketAdapter ? context.adapter : undefined

// Effects reach their connection through `context.adapter`, so the machine is
// provided once for every connection: a `provide()` per connection copies the
// whole state tree. An effect that throws is reported, never allowed to stop
// the actor. After dispose() (which may come from a listener, in the middle of
// a step) the step's remaining effects do nothing.
function effect<A extends { context: ConnectionContext }, P = undefined>(
  run: (adapter: SocketAdapter, args: A, params: P) => void,
): (args: A, params: P) => void {
  return (args, params) => {
    const adapter = adapterOf(args.context)
    if (adapter === undefined || adapter.disposed) return
    try {
      run(adapter, args, params)
    } catch (error) {
      adapter.report(error)
    }
  }
}

/** The connection statechart with lifeline's effects. */
export const liveMachine = connectionMachine.provide({
  actions: {
    openSocket: effect((a, { context }, params: { reason: 'attempt' | 'unauthorized' }) => a.openSocket(context.attempt, params.reason)),
    closeSocket: effect((a, { event }) => a.closeSocket(event)),
    dropSocket: effect((a, { event }) => a.dropSocket(event)),
    sendPing: effect((a) => a.sendPing('ping')),
    sendProbe: effect((a) => a.sendPing('probe')),
    flushBuffer: effect((a) => a.flushBuffer()),
    releaseHold: effect((a) => a.releaseHold()),
    planRetry: assign(({ context, event }) => ({
      attempt: context.attempt + 1,
      retryDelay: adapterOf(context)?.scheduleRetry(event, context) ?? context.initialDelay,
    })),
    // The plan says who declined: the application's policy, or the server's hint.
    recordDecline: assign(({ context, event }) => ({ failure: adapterOf(context)?.planFor(event, context).stop ?? ('policy' as const) })),
    notifyState: effect((a, { event }, params: { state: ConnectionStateName }) => a.notifyState(params.state, event)),
    notifyOpen: effect((a) => a.emitter.emit('open', { url: a.url })),
    notifyError: effect((a, { event }) => event.type === 'socket.error' && a.notifyError(event.error)),
    notifyProof: effect((a) => a.emitter.emit('heartbeat', { type: 'proof', roundTrip: a.now() - a.pingSentAt })),
    notifyHeartbeatTimeout: effect((a) => a.emitter.emit('heartbeat', { type: 'timeout' })),
    notifyReconnect: effect((a, { context }) => a.emitter.emit('reconnect', { attempt: context.attempt, delay: context.retryDelay })),
    notifyFailed: effect((a, { context }) => a.notifyFailed(context)),
  },
  guards: {
    isFatalClose: ({ context, event }) => event.type === 'socket.close' && adapterOf(context)?.isFatalClose(event) === true,
    isRetryDeclined: ({ context, event }) => adapterOf(context)?.planFor(event, context).stop !== undefined,
    hasRecentProof: ({ context }) => adapterOf(context)?.hasRecentProof() === true,
    isPingPostponed: ({ context }) => adapterOf(context)?.isPingPostponed() === true,
    wasSuspended: ({ context }) => adapterOf(context)?.wasSuspended() === true,
    isOffline: ({ context }) => adapterOf(context)?.isOffline() === true,
    isHeldBack: ({ context }) => adapterOf(context)?.isHeldBack() === true,
  },
  delays: {
    heartbeatInterval: ({ context }) => adapterOf(context)?.startWait() ?? (context.heartbeat ? context.heartbeat.interval : 0),
    heartbeatTimeout: ({ context }) => adapterOf(context)?.pingDeadline() ?? (context.heartbeat ? context.heartbeat.timeout : 0),
    serverHold: ({ context }) => adapterOf(context)?.serverHold() ?? 0,
  },
})

export type LiveActor = Actor<typeof liveMachine>
