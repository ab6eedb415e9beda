/**
 * Tabs sharing one connection, in fake tabs (Web Locks and BroadcastChannel
 * as browsers have them) against a real lifeline server on 127.0.0.1.
 */
import { describe, expect, it } from 'vitest'
import { browser, countingServer, leaderOf, member, settle } from './helpers.js'

describe('shared connection: one socket for the tabs', () => {
  it('elects one leader, opens one socket, and shows every tab the open connection', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
    expect(tabs.filter((t) => t.conn.share.role === 'leader')).toHaveLength(1)
    expect(tabs.filter((t) => t.conn.share.role === 'follower')).toHaveLength(2)
    const leader = leaderOf(tabs)!
    expect(tabs.every((t) => t.conn.share.leader === leader.conn.member)).toBe(true)
    expect(server.accepted).toBe(1)
    expect(server.most).toBe(1)
    for (const t of tabs) expect(t.events.open).toHaveLength(1)
  })

  it('delivers a server broadcast to every tab once, and sends each tab\'s messages once, in order', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
    server.server.broadcast('to all')
    await settle(fake, () => tabs.every((t) => t.messages.length === 1), 'the broadcast in every tab')
    const sender = tabs.find((t) => t.conn.share.role === 'follower')!
    for (let i = 1; i <= 200; i++) sender.conn.send(`m${i}`)
    await settle(fake, () => server.received.length >= 200, '200 messages at the server')
    await settle(fake, () => sender.conn.buffered === 0, 'nothing left waiting')
    expect(server.received).toEqual(Array.from({ length: 200 }, (_, i) => `m${i + 1}`))
    expect(tabs.map((t) => t.messages)).toEqual([['to all'], ['to all'], ['to all']])
  })
})

describe('shared connection: a long URL', () => {
  it('lets a tab join later when the URL carries a 9,000-character token', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const url = `${server.url}&token=${'t'.repeat(9_000)}`
    const tabs = [member(fake, { url }), member(fake, { url }), member(fake, { url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
    const late = member(fake, { url })
    await settle(fake, () => late.conn.state === 'open' && late.conn.share.role === 'follower', 'the late tab open')
    expect(late.events.open).toEqual([{ url }])
    late.conn.send('from the late tab')
    await settle(fake, () => server.received.includes('from the late tab') && late.conn.buffered === 0, 'its message at the server')
    expect(server.accepted).toBe(1)
  })
})

describe('shared connection: calls from inside listeners, bad arguments', () => {
  it('sends from a message listener, and disposes from one, in the leader and in a follower', async () => {
    const server = await countingServer('reliable')
    const fake = browser()
    const tabs = [member(fake, { url: server.url, delivery: 'reliable' }), member(fake, { url: server.url, delivery: 'reliable' }), member(fake, { url: server.url, delivery: 'reliable' })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
    const leader = leaderOf(tabs)!
    const [answering, leaving] = tabs.filter((t) => t !== leader) as [typeof leader, typeof leader]
    answering.conn.on('message', (data) => answering.conn.send(`answer to ${String(data)}`))
    leader.conn.on('message', (data) => leader.conn.send(`leader heard ${String(data)}`))
    leaving.conn.on('message', () => leaving.conn.dispose())
    server.server.broadcast('ping-pong')
    await settle(fake, () => server.received.includes('answer to ping-pong') && server.received.includes('leader heard ping-pong'), 'both answers')
    expect(leaving.conn.state).toBe('idle')
    expect(() => leaving.conn.send('late')).toThrow(expect.objectContaining({ code: 'LIFELINE_DISPOSED' }))
    leader.conn.on('message', () => leader.conn.dispose())
    server.server.broadcast('second')
    await settle(fake, () => answering.conn.share.role === 'leader' && answering.conn.state === 'open', 'the last tab leads')
    server.server.broadcast('third')
    await settle(fake, () => server.received.includes('answer to third'), 'the last tab still answers')
    expect(server.received.filter((m) => m === 'answer to second')).toHaveLength(1)
  })

  it('refuses what a connection of its own refuses: bad data, close arguments and event names, a Blob with reliable delivery', async () => {
    const server = await countingServer('reliable')
    const fake = browser()
    const { conn } = member(fake, { url: server.url, delivery: 'reliable', autoConnect: false })
    const code = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return (error as { code?: string }).code
      }
      return undefined
    }
    expect(code(() => conn.send({} as never))).toBe('LIFELINE_INVALID_ARGUMENT')
    expect(code(() => conn.send(new Uint8Array(new SharedArrayBuffer(2))))).toBe('LIFELINE_INVALID_ARGUMENT')
    expect(code(() => conn.send(new Blob(['x'])))).toBe('LIFELINE_INVALID_ARGUMENT')
    expect(code(() => conn.close(1001))).toBe('LIFELINE_INVALID_ARGUMENT')
    expect(code(() => conn.close(1000, 'x'.repeat(124)))).toBe('LIFELINE_INVALID_ARGUMENT')
    expect(code(() => conn.on('nope' as never, () => {}))).toBe('LIFELINE_INVALID_ARGUMENT')
    for (let i = 0; i < 1_000; i++) conn.send(`m${i}`)
    expect(code(() => conn.send('one too many'))).toBe('LIFELINE_BUFFER_FULL')
    expect(conn.buffered).toBe(1_000)
  })
})

describe('shared connection: dispose()', () => {
  it('reports what the last tab gives up on, as a connection of its own does', async () => {
    const server = await countingServer('reliable')
    const fake = browser()
    const alone = member(fake, { url: server.url, delivery: 'reliable', autoConnect: false })
    await settle(fake, () => alone.conn.share.role === 'leader', 'leading')
    alone.conn.send('a')
    alone.conn.send('b')
    alone.conn.dispose()
    const codes = alone.events.error.map((e) => [(e as { code?: string }).code, (e as { messages?: unknown[] }).messages])
    expect(codes).toEqual([['LIFELINE_UNACKNOWLEDGED_DISCARDED', ['a', 'b']]])
    expect(alone.conn.state).toBe('idle')
  })

  it('leaves nothing running: no timer of the election, no lock, nothing posted', async () => {
    const server = await countingServer('plain')
    const fake = browser()
    const tabs = [member(fake, { url: server.url }), member(fake, { url: server.url })]
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'both open')
    for (const t of tabs) t.conn.dispose()
    await settle(fake, () => server.live() === 0, 'the socket closed')
    expect(fake.locks.query()).toEqual({ held: [], pending: [] })
    expect(fake.clock.pending).toBe(0)
  })
})
