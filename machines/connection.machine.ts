import { and, assign, setup } from 'xstate'
import type { ConnectionContext, ConnectionEvent, ConnectionInput, ConnectionStateName } from './connection.types.js'

// Effects are named here and supplied by the adapter with `machine.provide()`;
// these placeholders keep the machine runnable on its own (tests, inspectors).
const effect = (): void => {}

// A failed attempt retries while attempts remain, else gives up.
const retry = [
  { guard: 'canRetry', target: '#connection.backoff' },
  { target: '#connection.failed', actions: 'recordGivingUp' },
] as const

// A close the server or network caused; `isFatalClose` applies `shouldReconnect`.
// Why the machine gave up is the transition's to say, not the counter's: a
// close that must not be retried may also be the last attempt allowed.
const socketClosed = [
  { guard: 'isFatalClose', target: '#connection.failed', actions: 'recordRefusal' },
  ...retry,
] as const

// The link was declared dead: said, then retried as any failed attempt.
const heartbeatTimedOut = [
  { guard: 'canRetry', target: '#connection.backoff', actions: 'notifyHeartbeatTimeout' },
  { target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordGivingUp'] },
] as const

// `open()` (or `reconnect()`) from a resting state.
const start = [
  { guard: 'isOffline', target: '#connection.offline', actions: 'resetAttempts' },
  { target: '#connection.connecting', actions: 'resetAttempts' },
] as const

/**
 * The connection statechart. Every timer is an `after` transition with a named
 * delay, so it is cancelled by leaving its state and visible in the diagram.
 * Events a state does not list are ignored on purpose: a second `socket.close`
 * after an `error`, or a late event in `idle`, cannot schedule a second attempt.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actions: {
    openSocket: effect,
    closeSocket: effect,
    dropSocket: effect,
    sendPing: effect,
    sendProbe: effect,
    flushBuffer: effect,
    planRetry: assign(({ context }) => ({
      attempt: context.attempt + 1,
      retryDelay: context.initialDelay,
    })),
    resetAttempts: assign({ attempt: 0 }),
    recordRefusal: assign({ failure: 'not-retried' as const }),
    recordGivingUp: assign(({ context }) => ({ failure: context.reconnect ? ('max-attempts' as const) : ('not-retried' as const) })),
    notifyState: (_: unknown, _params: { state: ConnectionStateName }) => {},
    notifyOpen: effect,
    notifyError: effect,
    notifyProof: effect,
    notifyHeartbeatTimeout: effect,
    notifyReconnect: effect,
    notifyFailed: effect,
  },
  guards: {
    canRetry: ({ context }) => context.reconnect && context.attempt + 1 < context.maxAttempts,
    isFatalClose: () => false,
    hasRecentProof: () => false,
    wasSuspended: () => false,
    isServerDriven: ({ context }) => context.heartbeat !== false && context.heartbeat.mode === 'server',
    isOffline: () => false,
    isUnmonitored: ({ context }) => context.heartbeat === false,
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeout,
    heartbeatInterval: ({ context }) => (context.heartbeat ? context.heartbeat.interval : 0),
    heartbeatTimeout: ({ context }) => (context.heartbeat ? context.heartbeat.timeout : 0),
    probeTimeout: ({ context }) => (context.heartbeat ? context.heartbeat.probeTimeout : 0),
    backoffDelay: ({ context }) => context.retryDelay,
    closeTimeout: ({ context }) => context.closeTimeout,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ ...input, attempt: 0, retryDelay: 0, failure: 'not-retried' }),
  initial: 'idle',
  // Only the current socket's errors reach the machine; they never change state:
  // the `socket.close` that follows decides, so an error costs one attempt, not two.
  on: {
    'socket.error': { actions: 'notifyError' },
  },
  states: {
    idle: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'idle' } }],
      on: {
        open: start,
        reconnect: start,
      },
    },

    connecting: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'connecting' } }, 'openSocket'],
      after: {
        connectTimeout: retry,
      },
      on: {
        'socket.open': [
          { guard: 'isUnmonitored', target: 'open.unmonitored', actions: 'resetAttempts' },
          { target: 'open' },
        ],
        'socket.close': socketClosed,
        close: { target: 'idle' },
        reconnect: { target: 'connecting', reenter: true, actions: 'resetAttempts' },
        'network.offline': { target: 'offline' },
      },
    },

    open: {
      entry: ['flushBuffer', { type: 'notifyState', params: { state: 'open' } }, 'notifyOpen'],
      initial: 'waiting',
      states: {
        waiting: {
          after: {
            heartbeatInterval: [
              { guard: 'hasRecentProof', target: 'waiting', reenter: true, actions: 'resetAttempts' },
              // The timer fired far too late: the process slept; check before judging.
              { guard: 'wasSuspended', target: 'probing' },
              // Server-driven: the server's pings stopped for interval + timeout.
              { guard: and(['isServerDriven', 'canRetry']), target: '#connection.backoff', actions: 'notifyHeartbeatTimeout' },
              { guard: 'isServerDriven', target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordGivingUp'] },
              { target: 'ackPending' },
            ],
          },
          on: { 'environment.wake': 'probing', 'network.online': 'probing' },
        },
        ackPending: {
          entry: 'sendPing',
          on: {
            'heartbeat.proof': { target: 'waiting', actions: ['notifyProof', 'resetAttempts'] },
            'environment.wake': 'probing',
            'network.online': 'probing',
          },
          after: {
            heartbeatTimeout: [
              { guard: 'wasSuspended', target: 'probing' },
              ...heartbeatTimedOut,
            ],
          },
        },
        // Trust nothing after a pause: an immediate ping with a short deadline.
        probing: {
          entry: 'sendProbe',
          on: {
            'heartbeat.proof': { target: 'waiting', actions: ['notifyProof', 'resetAttempts'] },
          },
          after: {
            probeTimeout: heartbeatTimedOut,
          },
        },
        unmonitored: {},
      },
      on: {
        'socket.close': socketClosed,
        close: { target: 'closing' },
        reconnect: { target: 'connecting', actions: 'resetAttempts' },
        'network.offline': { target: 'offline' },
      },
    },

    closing: {
      entry: [{ type: 'notifyState', params: { state: 'closing' } }, 'closeSocket'],
      after: {
        closeTimeout: { target: 'idle' },
      },
      on: {
        'socket.close': { target: 'idle' },
        open: { target: 'connecting', actions: 'resetAttempts' },
        reconnect: { target: 'connecting', actions: 'resetAttempts' },
      },
    },

    backoff: {
      entry: ['dropSocket', 'planRetry', { type: 'notifyState', params: { state: 'backoff' } }, 'notifyReconnect'],
      after: {
        backoffDelay: { target: 'connecting' },
      },
      on: {
        close: { target: 'idle' },
        reconnect: { target: 'connecting', actions: 'resetAttempts' },
        'network.offline': { target: 'offline' },
        // Why wait out a timer a background tab may have throttled, or a delay meant for a dead network?
        'environment.wake': { target: 'connecting' },
        'network.online': { target: 'connecting', actions: 'resetAttempts' },
      },
    },

    offline: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'offline' } }],
      on: {
        'network.online': { target: 'connecting', actions: 'resetAttempts' },
        close: { target: 'idle' },
      },
    },

    failed: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'failed' } }, 'notifyFailed'],
      on: {
        open: start,
        reconnect: start,
        close: { target: 'idle' },
      },
    },
  },
})

/** The machine's type, for adapters and tests that provide implementations. */
export type ConnectionMachine = typeof connectionMachine
