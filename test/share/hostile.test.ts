/**
 * What other code (another version, a broken tab, a script of the page)
 * posts on the group's channel: validated, never a crash, never a lost or
 * repeated message. Property-based (fast-check), seeded and bounded.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BEAT_MS, TERM_SLACK_MS } from '../../src/share/election.js'
import { MAX_TERM, message, parseMessage, SHARE_VERSION, type ShareMessage } from '../../src/share/protocol.js'
import { FakeChannel } from '../helpers/fake-tabs.js'
import { browser, countingServer, leaderOf, member, pass, settle } from './helpers.js'

const MEMBER = '00000009000000ff'
const step = { event: { type: 'socket.open' }, transitions: [['connection.connecting', 'connection.open']], actions: [{ type: 'notifyState', params: { state: 'open' } }, { type: 'notifyOpen' }], value: { open: 'waiting' }, context: { attempt: 0 } }
const session = { id: 'abcdefabcdefabcdef00', established: true, delivered: 3, first: 5, messages: ['a', new Uint8Array([1, 2])], origins: [MEMBER, null] }

/** One valid message of every kind. */
const VALID: unknown[] = [
  message(MEMBER, 'hello', { visible: true }),
  message(MEMBER, 'probe', {}),
  message(MEMBER, 'bye', {}),
  message(MEMBER, 'visible', { visible: false }),
  message(MEMBER, 'use', { wants: false, code: 1000, reason: 'bye' }),
  message(MEMBER, 'send', { to: MEMBER, id: 1, data: 'x' }),
  message(MEMBER, 'command', { to: MEMBER, name: 'reconnect' }),
  { lifeline: 'share', v: SHARE_VERSION, from: MEMBER, kind: 'lead', term: 5, holder: 'c', state: 'open', step, url: 'ws://x/', session, taken: [[MEMBER, 2]] },
  message(MEMBER, 'beat', { term: 5 }),
  message(MEMBER, 'roll', { term: 5 }),
  { lifeline: 'share', v: SHARE_VERSION, from: MEMBER, kind: 'step', term: 5, step },
  message(MEMBER, 'event', { term: 5, event: { name: 'close', code: 1006, reason: '', wasClean: false } }),
  message(MEMBER, 'event', { term: 5, event: { name: 'heartbeat', heartbeat: { type: 'proof', roundTrip: 3 } } }),
  message(MEMBER, 'event', { term: 5, event: { name: 'error', code: 'LIFELINE_SOCKET_ERROR', message: 'x', messages: [] } }),
  message(MEMBER, 'message', { term: 5, data: 'hi', seq: 4 }),
  message(MEMBER, 'taken', { term: 5, member: MEMBER, id: 3 }),
  message(MEMBER, 'out', { term: 5, seq: 7, data: 'x', member: MEMBER, id: 4 }),
  message(MEMBER, 'ack', { term: 5, ack: 6 }),
  { lifeline: 'share', v: SHARE_VERSION, from: MEMBER, kind: 'session', term: 5, session },
  message(MEMBER, 'refused', { term: 5, member: MEMBER, id: 2, code: 'LIFELINE_BUFFER_FULL', text: 'full' }),
  { lifeline: 'share', v: SHARE_VERSION, from: MEMBER, kind: 'resign', term: 5, to: undefined, session: undefined, taken: [] },
]

/** A valid message with one field (maybe nested) replaced by anything. */
const mutated = fc.tuple(fc.constantFrom(...VALID), fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 }), fc.anything()).map(([base, path, value]) => {
  const copy = structuredClone(base) as Record<string, unknown>
  let at: Record<string, unknown> = copy
  const keys = [...path]
  for (let i = 0; i < keys.length - 1; i++) {
    const next = at[keys[i]!]
    if (typeof next !== 'object' || next === null) break
    at = next as Record<string, unknown>
  }
  at[keys.at(-1)!] = value
  return copy
})

const hostile = fc.oneof(fc.anything(), mutated, fc.constantFrom(...VALID))

describe('shared connection: what other code posts on the channel', () => {
  it('accepts every valid message of each kind', () => {
    for (const raw of VALID) expect(parseMessage(raw, 10)?.kind, JSON.stringify(raw)).toBe((raw as ShareMessage).kind)
  })

  it('never throws on anything, and what it accepts parses again to the same', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const parsed = parseMessage(raw, 10)
        if (parsed === undefined) return
        expect(parsed.lifeline).toBe('share')
        expect(parseMessage(structuredClone(parsed), 10)).toEqual(parsed)
      }),
      { seed: 16, numRuns: 3_000 },
    )
  })

  it('refuses another version, a bad member id, an unsafe term, a state the chart does not have, an event XState keeps for itself', () => {
    const beat = VALID[8] as Record<string, unknown>
    expect(parseMessage({ ...beat, v: 2 }, 10)).toBeUndefined()
    expect(parseMessage({ ...beat, from: 'ZZZZ' }, 10)).toBeUndefined()
    expect(parseMessage({ ...beat, term: 2 ** 60 }, 10)).toBeUndefined()
    expect(parseMessage({ ...beat, term: Number.NaN }, 10)).toBeUndefined()
    const lead = VALID[7] as Record<string, unknown>
    expect(parseMessage({ ...lead, state: 'exploded' }, 10)).toBeUndefined()
    expect(parseMessage({ ...lead, step: { ...step, event: { type: 'xstate.stop' } } }, 10)).toBeUndefined()
    expect(parseMessage({ ...lead, session: { ...session, messages: ['a'], origins: [] } }, 10)).toBeUndefined()
    expect(parseMessage({ ...lead, session: { ...session, messages: Array(11).fill('a'), origins: Array(11).fill(null) } }, 10)).toBeUndefined()
    const send = VALID[5] as Record<string, unknown>
    expect(parseMessage({ ...send, data: { not: 'data' } }, 10)).toBeUndefined()
    expect(parseMessage({ ...send, data: new Uint8Array(new SharedArrayBuffer(4)) }, 10)).toBeUndefined()
  })

  it('keeps one leader and every message exactly once through a stream of hostile posts', async () => {
    const server = await countingServer('reliable')
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 30 }), async (posts) => {
        const fake = browser()
        const url = `${server.url}-${run++}`
        const tabs = [member(fake, { url, delivery: 'reliable' }), member(fake, { url, delivery: 'reliable' })]
        await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'both open')
        const intruder = fake.tab()
        const name = `lifeline-ws/share/${SHARE_VERSION}/reliable/test`
        for (const post of posts) FakeChannel.foreign(intruder, name, post)
        await pass(fake, 200)
        const follower = tabs.find((t) => t.conn.share.role !== 'leader')!
        for (let i = 1; i <= 5; i++) follower.conn.send(`${url} m${i}`)
        server.server.broadcast(`${url} hello`)
        await pass(fake, 2_000)
        await settle(fake, () => server.received.filter((m) => m.startsWith(`${url} `)).length >= 5 && tabs.every((t) => t.messages.includes(`${url} hello`)), 'messages through', 10_000)
        await pass(fake, 500)
        expect(server.received.filter((m) => m.startsWith(`${url} `))).toEqual([1, 2, 3, 4, 5].map((i) => `${url} m${i}`))
        for (const t of tabs) expect(t.messages.filter((m) => m === `${url} hello`)).toHaveLength(1)
        expect(leaderOf(tabs)).toBeDefined()
        for (const t of tabs) t.conn.dispose()
      }),
      { seed: 7, numRuns: 12, interruptAfterTimeLimit: 60_000 },
    )
  }, 90_000)

  it('follows the real leader again after a forged announcement with the newest term it accepts', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'both open')
    const real = leaderOf(tabs)!
    const forged = { ...(VALID[7] as Record<string, unknown>), from: 'ffffffffffffffff', term: fake.clock.now() + TERM_SLACK_MS, session: undefined, holder: undefined }
    FakeChannel.foreign(fake.tab(), 'lifeline-ws/share/1/plain/test', forged)
    const follower = tabs.find((t) => t !== real)!
    follower.conn.send('through the real one')
    await pass(fake, 500)
    await settle(fake, () => server.received.includes('through the real one'), 'sent', 5_000)
    expect(follower.events.share.map((s) => s.leader)).toContain('ffffffffffffffff') // it did believe the forgery for a moment
    expect(follower.conn.share.leader).toBe(real.conn.member)
    expect(server.received.filter((m) => m === 'through the real one')).toHaveLength(1)
    expect(server.accepted).toBe(1)
  })

  it('answers a flood of hellos with at most one announcement a beat, and a tab that joins meanwhile still joins', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'both open')
    const name = 'lifeline-ws/share/1/plain/test'
    const leads: number[] = []
    new FakeChannel(fake.tab(), name).addEventListener('message', ({ data }) => (data as { kind?: string }).kind === 'lead' && leads.push(fake.clock.now()))
    const intruder = fake.tab()
    const start = fake.clock.now()
    for (let i = 0; i < 1_000; i++) FakeChannel.foreign(intruder, name, message(i.toString(16).padStart(16, 'a'), 'hello', { visible: true }))
    const late = member(fake, { url: server.url })
    await settle(fake, () => late.conn.state === 'open', 'the late tab open')
    expect(fake.clock.now() - start).toBeLessThanOrEqual(BEAT_MS + 50)
    await pass(fake, 1_000)
    expect(leads.length).toBeLessThanOrEqual(1 + Math.ceil((fake.clock.now() - start) / BEAT_MS))
    expect(leads.length).toBeGreaterThanOrEqual(1)
    expect(server.accepted).toBe(1)
  })

  it('ignores an announcement with a term no leader could have, in every tab, for good', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
    const real = leaderOf(tabs)!
    for (const term of [MAX_TERM, MAX_TERM - 1, fake.clock.now() + TERM_SLACK_MS * 2]) {
      FakeChannel.foreign(fake.tab(), 'lifeline-ws/share/1/plain/test', { ...(VALID[7] as Record<string, unknown>), from: 'ffffffffffffffff', term, session: undefined, holder: undefined })
    }
    await pass(fake, 3_000)
    for (const t of tabs) expect(t.events.share.map((s) => s.leader)).not.toContain('ffffffffffffffff')
    server.server.broadcast('to all')
    for (const t of tabs) t.conn.send(`from ${t.conn.member}`)
    await settle(fake, () => tabs.every((t) => t.messages.includes('to all') && server.received.includes(`from ${t.conn.member}`)), 'both ways')
    expect(leaderOf(tabs)).toBe(real)
    for (const t of tabs.filter((t) => t !== real)) expect(t.conn.share).toMatchObject({ role: 'follower', leader: real.conn.member })
    expect(server.accepted).toBe(1)
  })
})
