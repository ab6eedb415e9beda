import { and, assign, setup } from 'xstate'
import type { ConnectionContext, ConnectionEvent, ConnectionInput, ConnectionStateName } from './connection.types.js'

// Effects are named here and supplied by the adapter with `machine.provide()`;
// these placeholders keep the machine runnable on its own (tests, inspectors).
const effect = (): void => {}

// A failed attempt retries while attempts remain and the retry policy agrees, else gives up.
const retry = [
  { guard: and(['canRetry', 'isRetryDeclined']), target: '#connection.failed', actions: 'recordDecline' },
  { guard: 'canRetry', target: '#connection.backoff' },
  { target: '#connection.failed', actions: 'recordGivingUp' },
] as const

// A close the server or network caused. Refused credentials come first: asked
// for anew once, at once (`socketClosed`); refused again, given up (here, as
// in `reauthorizing`, where the credentials were just asked for anew). Then
// `isFatalClose` applies `shouldReconnect`. Why the machine gave up is the
// transition's to say, not the counter's: a close that must not be retried
// may also be the last attempt allowed.
const closedWithFreshCredentials = [
  { guard: 'isUnauthorizedClose', target: '#connection.failed', actions: 'recordUnauthorized' },
  { guard: 'isFatalClose', target: '#connection.failed', actions: 'recordRefusal' },
  ...retry,
] as const
const socketClosed = [
  { guard: and(['isUnauthorizedClose', 'canReauthorize']), target: '#connection.reauthorizing', actions: 'countRefusal' },
  ...closedWithFreshCredentials,
] as const

// The link was declared dead: said, then retried as any failed attempt.
const heartbeatTimedOut = [
  { guard: and(['canRetry', 'isRetryDeclined']), target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordDecline'] },
  { guard: 'canRetry', target: '#connection.backoff', actions: 'notifyHeartbeatTimeout' },
  { target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordGivingUp'] },
] as const

// Server-driven: the server's pings stopped for interval + timeout.
const serverPingsStopped = [
  { guard: and(['isServerDriven', 'canRetry', 'isRetryDeclined']), target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordDecline'] },
  { guard: and(['isServerDriven', 'canRetry']), target: '#connection.backoff', actions: 'notifyHeartbeatTimeout' },
  { guard: 'isServerDriven', target: '#connection.failed', actions: ['notifyHeartbeatTimeout', 'recordGivingUp'] },
] as const

// `open()` (or `reconnect()`) from a resting state. A fresh start owes an
// earlier server hold nothing, even when it waits for the network first.
const start = [
  { guard: 'isOffline', target: '#connection.offline', actions: ['resetStreaks', 'releaseHold'] },
  { target: '#connection.connecting', actions: 'resetStreaks' },
] as const

// The network back: a fresh start, at once unless the server's retryAfter still runs.
const backOnline = [
  { guard: 'isHeldBack', target: '#connection.held', actions: 'resetStreaks' },
  { target: '#connection.connecting', actions: 'resetStreaks' },
] as const

// Proof of life on an open connection: healthy again, both streaks end (when one runs:
// a healthy connection's every proof would otherwise copy the context for nothing).
const proved = [
  { guard: 'hasStreak', target: 'waiting', actions: ['notifyProof', 'resetStreaks'] },
  { target: 'waiting', actions: 'notifyProof' },
] as const

// An attempt: `connecting`, or `reauthorizing` after the server refused the credentials.
// `openSocket`'s reason tells the url function why it is asked.
function attempt(state: 'connecting' | 'reauthorizing') {
  return {
    entry: ['dropSocket', { type: 'notifyState', params: { state } }, { type: 'openSocket', params: { reason: state === 'reauthorizing' ? 'unauthorized' : 'attempt' } }],
    after: {
      connectTimeout: retry,
    },
    on: {
      'socket.open': [
        { guard: 'isUnmonitored', target: '#connection.open.settling' },
        { target: '#connection.open' },
      ],
      'socket.close': state === 'reauthorizing' ? closedWithFreshCredentials : socketClosed,
      close: { target: '#connection.idle' },
      'network.offline': { target: '#connection.offline' },
    },
  } as const
}

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
    openSocket: (_: unknown, _params: { reason: 'attempt' | 'unauthorized' }) => {},
    closeSocket: effect,
    dropSocket: effect,
    sendPing: effect,
    sendProbe: effect,
    flushBuffer: effect,
    releaseHold: effect,
    planRetry: assign(({ context }) => ({
      attempt: context.attempt + 1,
      retryDelay: context.initialDelay,
    })),
    countRefusal: assign(({ context }) => ({ attempt: context.attempt + 1, refusals: context.refusals + 1 })),
    resetAttempts: assign({ attempt: 0 }),
    // A fresh start (`open()`, `reconnect()`, the network back) or proof of health: both streaks end.
    resetStreaks: assign({ attempt: 0, refusals: 0 }),
    recordRefusal: assign({ failure: 'not-retried' as const }),
    recordUnauthorized: assign({ failure: 'unauthorized' as const }),
    recordDecline: assign({ failure: 'policy' as const }),
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
    // Only the first refusal since the connection was last healthy, and only while attempts remain.
    canReauthorize: ({ context }) => context.reconnect && context.refusals === 0 && context.attempt + 1 < context.maxAttempts,
    isRetryDeclined: () => false,
    isUnauthorizedClose: ({ event }) => event.type === 'socket.close' && (event.code === 4401 || event.code === 4403),
    isFatalClose: () => false,
    hasRecentProof: () => false,
    isPingPostponed: () => false,
    wasSuspended: () => false,
    // A streak of failed attempts or refusals runs: the connection is not yet proved healthy.
    hasStreak: ({ context }) => context.attempt > 0 || context.refusals > 0,
    isServerDriven: ({ context }) => context.heartbeat !== false && context.heartbeat.mode === 'server',
    isOffline: () => false,
    isHeldBack: () => false,
    isUnmonitored: ({ context }) => context.heartbeat === false,
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeout,
    heartbeatInterval: ({ context }) => (context.heartbeat ? context.heartbeat.interval : 0),
    heartbeatTimeout: ({ context }) => (context.heartbeat ? context.heartbeat.timeout : 0),
    probeTimeout: ({ context }) => (context.heartbeat ? context.heartbeat.probeTimeout : 0),
    backoffDelay: ({ context }) => context.retryDelay,
    serverHold: () => 0,
    closeTimeout: ({ context }) => context.closeTimeout,
    minUptime: ({ context }) => context.minUptime,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ ...input, attempt: 0, refusals: 0, retryDelay: 0, failure: 'not-retried' }),
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
      ...attempt('connecting'),
      on: {
        ...attempt('connecting').on,
        reconnect: { target: 'connecting', reenter: true, actions: 'resetStreaks' },
      },
    },

    // One attempt with credentials asked for anew (`url({ reason: 'unauthorized' })`),
    // at once, after the server refused them; refused again, the connection fails.
    reauthorizing: {
      ...attempt('reauthorizing'),
      on: {
        ...attempt('reauthorizing').on,
        reconnect: { target: 'connecting', actions: 'resetStreaks' },
      },
    },

    open: {
      entry: ['flushBuffer', { type: 'notifyState', params: { state: 'open' } }, 'notifyOpen'],
      initial: 'waiting',
      states: {
        waiting: {
          after: {
            heartbeatInterval: [
              // A frame proved life meanwhile (the open proves nothing): healthy, and the ping waits a full interval from it.
              { guard: 'hasRecentProof', target: 'waiting', reenter: true, actions: 'resetStreaks' },
              // Not due yet with nothing proved: the page was hidden since, which stretches the interval.
              { guard: 'isPingPostponed', target: 'waiting', reenter: true },
              // Server-driven, this timer is a verdict: fired late (the process
              // did not run), it is a probe instead, once what arrived meanwhile
              // was read (the clock saw to it). A late ping of our own is just
              // late: it goes out as usual, with the full timeout, since the
              // server takes no less time to answer because our timer was late.
              { guard: and(['isServerDriven', 'wasSuspended']), target: 'probing' },
              ...serverPingsStopped,
              { target: 'ackPending' },
            ],
          },
          on: { 'environment.wake': 'probing', 'network.online': 'probing' },
        },
        ackPending: {
          entry: 'sendPing',
          on: {
            'heartbeat.proof': proved,
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
            'heartbeat.proof': proved,
          },
          after: {
            probeTimeout: heartbeatTimedOut,
          },
        },
        // No heartbeat: only staying open proves anything. Up for `minUptime`,
        // the attempt streak ends, never the refusal streak (a server that
        // accepts and refuses later would otherwise ask for credentials in a loop).
        settling: {
          after: {
            minUptime: { target: 'unmonitored', actions: 'resetAttempts' },
          },
        },
        unmonitored: {},
      },
      on: {
        'socket.close': socketClosed,
        close: { target: 'closing' },
        reconnect: { target: 'connecting', actions: 'resetStreaks' },
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
        open: { target: 'connecting', actions: 'resetStreaks' },
        reconnect: { target: 'connecting', actions: 'resetStreaks' },
      },
    },

    backoff: {
      entry: ['dropSocket', 'planRetry', { type: 'notifyState', params: { state: 'backoff' } }, 'notifyReconnect'],
      after: {
        backoffDelay: { target: 'connecting' },
      },
      on: {
        close: { target: 'idle' },
        reconnect: { target: 'connecting', actions: 'resetStreaks' },
        'network.offline': { target: 'offline' },
        // Why wait out a timer a background tab may have throttled, or a delay meant for a
        // dead network? Yet never sooner than the server said: the rest of its retryAfter is `held`.
        'environment.wake': [{ guard: 'isHeldBack', target: 'held' }, { target: 'connecting' }],
        'network.online': backOnline,
      },
    },

    // Woken early from a backoff (or back online) while the server's retryAfter
    // still runs: only its rest is left to wait. Part of the backoff for the
    // application, whose `conn.state` stays 'backoff'; no retry is planned anew.
    held: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'backoff' } }],
      after: {
        serverHold: { target: 'connecting' },
      },
      on: {
        close: { target: 'idle' },
        reconnect: { target: 'connecting', actions: 'resetStreaks' },
        'network.offline': { target: 'offline' },
      },
    },

    offline: {
      entry: ['dropSocket', { type: 'notifyState', params: { state: 'offline' } }],
      on: {
        'network.online': backOnline,
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
