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
