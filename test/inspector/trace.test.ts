/**
 * recordTrace and what the inspector reads from a trace: the steps a
 * connection's actor went through (scripted sockets, simulated clock), the
 * timers pending at each step, the timeline, and the trace as plain JSON
 * that parseTrace accepts back.
 */
import { describe, expect, it } from 'vitest'
import { parseTrace, recordTrace, type Trace } from '../../src/inspector/index.js'
import { activeIds, dotted, timeline, timersAt, valueAt } from '../../src/inspector/timeline.js'
import { harness } from '../helpers/harness.js'

const HEARTBEAT = { interval: 1_000, timeout: 500 }
const RECONNECT = { initialDelay: 200, maxDelay: 200, jitter: 0 }

/** Opens, proves life once, then lets the heartbeat time out and the retry open again; returns the trace. */
function scriptedTrace(): Trace {
  const h = harness({ heartbeat: HEARTBEAT, reconnect: RECONNECT })
  const recording = recordTrace(h.conn)
  h.conn.open()
  h.sockets.last.serverOpen()
  h.clock.advance(1_000) // ping
  h.clock.advance(40)
  h.sockets.last.serverMessage('pong') // proof after 40 ms
  h.clock.advance(1_000) // ping again
  h.clock.advance(500) // no answer: declared dead
  h.clock.advance(200) // backoff elapsed
  h.sockets.last.serverOpen()
  const trace = recording.stop()
  h.conn.dispose()
  return trace
}

describe('recordTrace', () => {
  it('records each event the actor processes with its time, transitions, actions and the snapshot after it', () => {
    const trace = scriptedTrace()
    const types = trace.steps.map((s) => s.event.type)
    expect(types.slice(0, 3)).toEqual(['open', 'socket.open', 'xstate.after.heartbeatInterval.connection.open.waiting'])
    expect(trace.steps.map((s) => dotted(s.value))).toEqual(expect.arrayContaining(['connecting', 'open.waiting', 'open.ackPending', 'backoff']))
    const proof = trace.steps.find((s) => s.event.type === 'heartbeat.proof')!
    expect(proof.at).toBe(1_040)
    expect(proof.transitions).toEqual([{ source: 'connection.open.ackPending', target: 'connection.open.waiting', event: 'heartbeat.proof' }])
    const dead = trace.steps.find((s) => dotted(s.value) === 'backoff')!
    expect(dead.event.type).toBe('xstate.after.heartbeatTimeout.connection.open.ackPending')
    expect(dead.transitions[0]).toMatchObject({ target: 'connection.backoff', guard: 'canRetry' })
    expect(dead.actions.map((a) => a.type)).toEqual(expect.arrayContaining(['notifyHeartbeatTimeout', 'dropSocket', 'notifyReconnect']))
    expect(dead.context).toMatchObject({ attempt: 1, retryDelay: 200 })
    expect(dead.context).not.toHaveProperty('adapter')
  })

  it('returns plain JSON that parseTrace accepts unchanged', () => {
    const trace = scriptedTrace()
    const text = JSON.stringify(trace)
    expect(JSON.parse(text)).toEqual(trace)
    expect(parseTrace(text)).toEqual(trace)
    expect(parseTrace(JSON.parse(text))).toEqual(trace)
  })

  it('starts from the snapshot and the timers pending when it is called, without an inspect option', () => {
    const h = harness({ heartbeat: HEARTBEAT })
    h.conn.open()
    h.sockets.last.serverOpen()
    h.clock.advance(300)
    const trace = recordTrace(h.conn).stop()
    h.conn.dispose()
    expect(trace.initial.value).toEqual({ open: 'waiting' })
    expect(trace.steps).toEqual([])
    expect(trace.initial.timers.map((t) => t.id)).toEqual(['xstate.after.heartbeatInterval.connection.open.waiting'])
    expect(timersAt(trace, -1)[0]).toMatchObject({ delay: 'heartbeatInterval', state: 'open.waiting' })
  })

  it('keeps the most recent maxSteps and counts the ones it dropped', () => {
    const h = harness({ heartbeat: { interval: 100, timeout: 100 } })
    const recording = recordTrace(h.conn, { maxSteps: 5 })
    h.conn.open()
    h.sockets.last.serverOpen()
    for (let i = 0; i < 20; i++) {
      h.clock.advance(100)
      h.sockets.last.serverMessage('pong')
    }
    const trace = recording.stop()
    h.conn.dispose()
    expect(trace.steps).toHaveLength(5)
    expect(trace.dropped).toBeGreaterThan(30)
    expect(recording.stop()).toBe(trace) // stop() again: the same trace
  })

  it('stops recording at stop(): later events are not in the trace', () => {
    const h = harness({ heartbeat: HEARTBEAT })
    const recording = recordTrace(h.conn)
    h.conn.open()
    const trace = recording.stop()
    h.sockets.last.serverOpen()
    h.conn.dispose()
    expect(trace.steps.map((s) => s.event.type)).toEqual(['open'])
  })

  it('refuses what is not a connection, and a bad maxSteps, naming what was expected', () => {
    expect(() => recordTrace({} as never)).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT', message: expect.stringContaining('expects a lifeline connection') }))
    expect(() => recordTrace(null as never)).toThrow(TypeError)
    const h = harness()
    for (const maxSteps of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() => recordTrace(h.conn, { maxSteps }), String(maxSteps)).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_OPTION' }))
    }
    h.conn.dispose()
  })

  it('never lets a listener of the connection that throws affect the recording', () => {
    const h = harness({ heartbeat: HEARTBEAT })
    h.conn.on('state', () => {
      throw new Error('listener bug')
    })
    h.conn.on('error', () => {})
    const recording = recordTrace(h.conn)
    h.conn.open()
    h.sockets.last.serverOpen()
    expect(recording.stop().steps.map((s) => dotted(s.value))).toEqual(['connecting', 'open.waiting'])
    h.conn.dispose()
  })
})

describe('what a trace says', () => {
  it('tells the timers pending at each step with their due time', () => {
    const trace = scriptedTrace()
    const open = trace.steps.findIndex((s) => s.event.type === 'socket.open')
    expect(timersAt(trace, open)).toEqual([expect.objectContaining({ delay: 'heartbeatInterval', state: 'open.waiting', due: trace.steps[open]!.at + 1_000 })])
    const backoff = trace.steps.findIndex((s) => dotted(s.value) === 'backoff')
    expect(timersAt(trace, backoff).map((t) => t.delay)).toEqual(['backoffDelay'])
    expect(timersAt(trace, backoff)[0]!.due - trace.steps[backoff]!.at).toBe(200)
  })

  it('writes a timeline with pings, proofs and their round trip, the timeout, the retry with its delay and reason', () => {
    const texts = timeline(scriptedTrace()).map((e) => `${e.kind}: ${e.text}`)
    expect(texts).toEqual(expect.arrayContaining([
      'call: open() called',
      'open: socket open',
      'ping: ping sent',
      'proof: proof of life, round trip 40.0 ms',
      'timeout: heartbeat timeout: link declared dead',
      'retry: retry 1 in 0.20 s after heartbeatTimeout',
      'state: open.ackPending → backoff',
      'state: backoff → connecting',
    ]))
  })

  it('writes closes with their code and reason, offline and online, wake-ups and failures', () => {
    const h = harness({ heartbeat: HEARTBEAT, reconnect: { ...RECONNECT, maxAttempts: 2 } })
    const recording = recordTrace(h.conn)
    h.conn.open()
    h.sockets.last.serverOpen()
    h.sockets.last.serverClose(4000, 'going away', false)
    h.clock.advance(200)
    h.sockets.last.serverClose(1006, '', false)
    h.conn.open()
    h.sockets.last.serverOpen()
    h.network.emit(false)
    h.network.emit(true)
    h.sockets.last.serverOpen()
    h.environment.wake()
    const trace = recording.stop()
    h.conn.dispose()
    const texts = timeline(trace).map((e) => e.text)
    expect(texts).toContain('closed: code 4000, reason "going away" (not clean)')
    expect(texts).toContain('retry 1 in 0.20 s after close 4000 going away')
    expect(texts).toContain('failed (max-attempts) after close 1006, 2 attempt(s)')
    expect(texts).toEqual(expect.arrayContaining(['network offline', 'network online', 'woke up: page shown, restored or resumed', 'probe sent: trust nothing after a pause']))
  })

  it('names the active state nodes of a state value', () => {
    expect(activeIds('connection', { open: 'waiting' })).toEqual(['connection.open', 'connection.open.waiting'])
    expect(activeIds('connection', 'idle')).toEqual(['connection.idle'])
    expect(valueAt({ initial: { value: 'idle' }, steps: [] } as unknown as Trace, -1)).toBe('idle')
  })
})
