/**
 * The follower's statechart is the leader's: the same states and context,
 * the same transitions from the same events, the same named actions, as
 * the inspector records them.
 */
import { describe, expect, it } from 'vitest'
import { recordTrace } from '../../src/inspector/index.js'
import { Mirror } from '../../src/share/mirror.js'
import { browser, countingServer, leaderOf, member, settle } from './helpers.js'

describe('shared connection: the mirror of the leader\'s statechart', () => {
  it('shows every tab the leader\'s state, down to the heartbeat, with its transitions and actions', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url, heartbeat: { interval: 100, timeout: 1_000, proof: 'pong' } }), member(fake, { url: server.url, heartbeat: { interval: 100, timeout: 1_000, proof: 'pong' } })]
    const follower = tabs[1]!
    const recording = recordTrace(follower.conn)
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'both open')
    await settle(fake, () => follower.events.heartbeat.filter((h) => h.type === 'proof').length >= 2, 'two heartbeats')
    const trace = recording.stop()
    const transitions = trace.steps.flatMap((s) => s.transitions.map((t) => `${t.source} → ${t.target} (${t.event})`))
    expect(transitions).toContain('connection.open.waiting → connection.open.ackPending (xstate.after.heartbeatInterval.connection.open.waiting)')
    expect(transitions).toContain('connection.open.ackPending → connection.open.waiting (heartbeat.proof)')
    expect(trace.steps.flatMap((s) => s.actions.map((a) => a.type))).toContain('sendPing')
    expect(trace.steps.at(-1)!.context).toMatchObject({ connectTimeout: 10_000, heartbeat: { interval: 100 } })
    const same = () => JSON.stringify(leaderOf(tabs)!.conn.actor.getSnapshot().value) === JSON.stringify(follower.conn.actor.getSnapshot().value)
    await settle(fake, same, 'the follower at the leader\'s state') // one message behind at most
  })

  it('ignores what is not a state of the chart, and comes back to the leader\'s state after a missed step', () => {
    const mirror = new Mirror({})
    mirror.sync('nowhere', {})
    expect(mirror.actor.getSnapshot().value).toBe('idle')
    mirror.apply({ event: { type: 'open' }, transitions: [['connection.idle', 'connection.connecting']], actions: [], value: 'connecting', context: { attempt: 0 } })
    expect(mirror.actor.getSnapshot().value).toBe('connecting')
    // The step into open was missed: the next one says where the leader is.
    mirror.apply({ event: { type: 'heartbeat.proof' }, transitions: [['connection.open.ackPending', 'connection.open.waiting']], actions: [], value: { open: 'waiting' }, context: { attempt: 0 } })
    expect(mirror.actor.getSnapshot().value).toEqual({ open: 'waiting' })
    expect(mirror.actor.getSnapshot().status).toBe('active')
    mirror.stop()
  })
})
