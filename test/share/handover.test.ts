/**
 * Handovers: the leading tab closes, crashes, freezes or disposes, and
 * another one takes over; with reliable delivery the session goes on, so
 * nothing is lost or repeated, in either direction.
 */
import { describe, expect, it } from 'vitest'
import { LAPSE_JITTER_MS, LAPSE_MS, PROBE_MS } from '../../src/share/index.js'
import { browser, countingServer, crash, leaderOf, member, pass, settle, type Member } from './helpers.js'

const numbers = (count: number, from = 1) => Array.from({ length: count }, (_, i) => `m${from + i}`)

async function group(delivery: 'plain' | 'reliable', count = 3) {
  const server = await countingServer(delivery)
  const fake = browser()
  const tabs: Member[] = Array.from({ length: count }, () => member(fake, { url: server.url, delivery }))
  await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
  return { server, fake, tabs }
}

describe('shared connection: handover', () => {
  it('takes over at once when the leading tab closes, and the server never holds two sockets', async () => {
    const { server, fake, tabs } = await group('plain')
    const first = leaderOf(tabs)!
    crash(first)
    await settle(fake, () => leaderOf(tabs) !== undefined && leaderOf(tabs) !== first, 'a new leader')
    const rest = tabs.filter((t) => t !== first)
    await settle(fake, () => server.accepted === 2 && rest.every((t) => t.conn.state === 'open'), 'open again')
    expect(server.most).toBe(1)
    for (const t of rest) {
      expect(t.events.close.at(-1)).toEqual({ code: 1006, reason: 'handover', wasClean: false })
      expect(t.events.state.map((s) => s.reason)).toContain('handover')
    }
  })

  it('loses and repeats nothing with reliable delivery when the leader crashes mid-stream, in both directions', async () => {
    const { server, fake, tabs } = await group('reliable')
    const first = leaderOf(tabs)!
    const sender = tabs.at(-1)! // not the next in line: the tab that takes over holds none of its messages
    for (let i = 1; i <= 100; i++) {
      sender.conn.send(`m${i}`)
      server.server.broadcast(`s${i}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
    crash(first) // mid-stream: some sent, some numbered, some only in the sender's hands
    for (let i = 101; i <= 200; i++) {
      sender.conn.send(`m${i}`)
      server.server.broadcast(`s${i}`)
    }
    await settle(fake, () => server.received.length >= 200 && tabs.filter((t) => t !== first).every((t) => t.messages.length >= 200), 'everything through', 10_000)
    await settle(fake, () => sender.conn.buffered === 0, 'everything acknowledged')
    expect(server.received).toEqual(numbers(200))
    for (const t of tabs.filter((t) => t !== first)) expect(t.messages).toEqual(Array.from({ length: 200 }, (_, i) => `s${i + 1}`))
    expect(server.most).toBe(1)
  })

  it('steals the lock from a frozen leader after the lapse, and the frozen tab, thawed, opens no second socket', async () => {
    const { server, fake, tabs } = await group('reliable')
    const first = leaderOf(tabs)!
    first.tab.freeze()
    const sender = tabs.find((t) => t !== first)!
    sender.conn.send('while frozen')
    await pass(fake, LAPSE_MS + LAPSE_JITTER_MS + PROBE_MS + 300)
    await settle(fake, () => leaderOf(tabs.filter((t) => t !== first)) !== undefined, 'a new leader')
    await settle(fake, () => server.received.includes('while frozen'), 'the message sent by the new leader')
    const accepted = server.accepted
    first.tab.thaw()
    await settle(fake, () => first.conn.share.role === 'follower', 'the thawed tab follows')
    await pass(fake, 1_000)
    await settle(fake, () => first.conn.state === 'open', 'the thawed tab shows the open connection')
    expect(server.accepted).toBe(accepted)
    expect(server.live()).toBe(1)
    expect(server.received.filter((m) => m === 'while frozen')).toHaveLength(1)
    expect(tabs.filter((t) => t.conn.share.role === 'leader')).toHaveLength(1)
  })

  it('acknowledges nothing a stalled leader received but did not tell the tabs of: the next leader receives it again', async () => {
    const { server, fake, tabs } = await group('reliable')
    const first = leaderOf(tabs)!
    first.tab.freeze()
    await pass(fake, LAPSE_MS + 100) // the stalled leader's own beats stopped: it must confirm before it acts
    for (let i = 1; i <= 10; i++) server.server.broadcast(`s${i}`)
    await new Promise((resolve) => setTimeout(resolve, 300)) // its socket took them in, its acknowledgement timer ran
    await pass(fake, LAPSE_JITTER_MS + PROBE_MS + 300)
    const rest = tabs.filter((t) => t !== first)
    await settle(fake, () => rest.every((t) => t.messages.length >= 10), 'every message in the other tabs', 10_000)
    first.tab.thaw()
    await settle(fake, () => first.messages.length >= 10 && first.conn.share.role === 'follower', 'the thawed tab hears them from the new leader')
    await pass(fake, 500)
    for (const t of tabs) expect(t.messages).toEqual(Array.from({ length: 10 }, (_, i) => `s${i + 1}`))
  })

  it('hands over with the session when the leader disposes, and keeps what other tabs had sent', async () => {
    const { server, fake, tabs } = await group('reliable')
    const first = leaderOf(tabs)!
    const sender = tabs.find((t) => t !== first)!
    for (let i = 1; i <= 50; i++) sender.conn.send(`m${i}`)
    first.conn.dispose()
    for (let i = 51; i <= 100; i++) sender.conn.send(`m${i}`)
    await settle(fake, () => server.received.length >= 100, 'everything at the server')
    expect(server.received).toEqual(numbers(100))
    expect(first.events.error.map((e) => (e as { code?: string }).code)).toEqual([])
  })

  it('sends what a follower had sent, not yet taken, when a plain leader crashes', async () => {
    const { server, fake, tabs } = await group('plain')
    const first = leaderOf(tabs)!
    first.tab.freeze() // messages reach it no more, and it never says it took them
    const sender = tabs.find((t) => t !== first)!
    sender.conn.send('kept')
    crash(first)
    await settle(fake, () => server.received.includes('kept'), 'sent by the new leader')
    expect(server.received.filter((m) => m === 'kept')).toHaveLength(1)
    expect(sender.conn.buffered).toBe(0)
  })
})

describe('shared connection: ten tabs', () => {
  it('loses and repeats nothing through a frozen leader and then a crashed one, with one leader at the end', async () => {
    const { server, fake, tabs } = await group('reliable', 10)
    const first = leaderOf(tabs)!
    const sender = tabs.at(-1)!
    for (let i = 1; i <= 50; i++) {
      sender.conn.send(`m${i}`)
      server.server.broadcast(`s${i}`)
    }
    // A frozen page runs no code: the fake's frozen tab still runs its socket's, so it freezes once it told the tabs.
    await settle(fake, () => tabs.every((t) => t.messages.length === 50), 'the first fifty in every tab')
    first.tab.freeze()
    for (let i = 51; i <= 100; i++) sender.conn.send(`m${i}`)
    await settle(fake, () => leaderOf(tabs.filter((t) => t !== first)) !== undefined, 'a leader after the freeze')
    const second = leaderOf(tabs.filter((t) => t !== first))!
    for (let i = 51; i <= 100; i++) server.server.broadcast(`s${i}`)
    await settle(fake, () => sender.conn.buffered === 0, 'the first hundred acknowledged')
    crash(second)
    const rest = tabs.filter((t) => t !== first && t !== second)
    const late = rest.at(-1)!
    for (let i = 101; i <= 150; i++) late.conn.send(`m${i}`)
    await settle(fake, () => leaderOf(rest) !== undefined && rest.every((t) => t.conn.state === 'open'), 'a leader after the crash', 10_000)
    for (let i = 101; i <= 150; i++) server.server.broadcast(`s${i}`)
    await settle(fake, () => server.received.length >= 150 && rest.every((t) => t.messages.length >= 150) && late.conn.buffered === 0, 'everything through', 15_000)
    first.tab.thaw()
    await settle(fake, () => first.conn.share.role === 'follower' && first.conn.state === 'open', 'the thawed tab follows')
    await pass(fake, 500)
    expect(server.received).toEqual(numbers(150))
    for (const t of rest) expect(t.messages).toEqual(Array.from({ length: 150 }, (_, i) => `s${i + 1}`))
    expect(tabs.filter((t) => !t.tab.closed && t.conn.share.role === 'leader')).toHaveLength(1)
    expect(server.live()).toBe(1)
  }, 40_000)
})

describe('shared connection: a stalled tab in line for the lock', () => {
  // Every follower knows the leader's lock holder: the announcement a tab that joined later asked for names it.
  async function fourTabs() {
    const { server, fake, tabs } = await group('plain')
    tabs.push(member(fake, { url: server.url }))
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'the fourth tab open')
    await pass(fake, 200)
    return { server, fake, tabs }
  }
  const tabOf = (tabs: Member[], clientId: string | undefined) => tabs.find((t) => t.tab.id === clientId)!
  const leaderLock = (fake: ReturnType<typeof browser>) => fake.locks.query()
  const isLeaderLock = (lock: { name: string }) => lock.name.endsWith('/leader')

  it('takes over within 2 s when the leader crashes while the next tab in line is stalled, and shows connecting meanwhile', async () => {
    const { server, fake, tabs } = await fourTabs()
    const first = leaderOf(tabs)!
    const heir = tabOf(tabs, leaderLock(fake).pending.find(isLeaderLock)?.clientId)
    heir.tab.freeze()
    const running = tabs.filter((t) => t !== first && t !== heir)
    crash(first) // the lock goes to the stalled heir
    const crashedAt = fake.clock.now()
    await settle(fake, () => leaderOf(running) !== undefined, 'a running tab leads')
    expect(fake.clock.now() - crashedAt).toBeLessThanOrEqual(1_900) // the socket's handshake in Chromium: test/browser/share.test.ts
    await settle(fake, () => running.every((t) => t.conn.state === 'open'), 'open again')
    for (const t of running) {
      expect(t.events.share.map((s) => s.role)).toContain('joining')
      expect(t.events.state.slice(-2).map((s) => `${s.state}:${s.reason}`)).toEqual(['connecting:handover', 'open:handover'])
      expect(t.events.close.at(-1)).toEqual({ code: 1006, reason: 'handover', wasClean: false })
    }
    server.server.broadcast('after')
    for (const t of running) t.conn.send(`from ${t.conn.member}`)
    await settle(fake, () => running.every((t) => t.messages.includes('after') && server.received.includes(`from ${t.conn.member}`)), 'both ways')
    heir.tab.thaw()
    await settle(fake, () => heir.conn.share.role === 'follower' && heir.conn.state === 'open', 'the thawed heir follows')
    await pass(fake, 500)
    expect(server.live()).toBe(1)
    expect(tabs.filter((t) => t.conn.share.role === 'leader')).toHaveLength(1)
  })

  it('takes over when the tab that stole the lock from a stalled leader stalls right after', async () => {
    const { server, fake, tabs } = await fourTabs()
    const first = leaderOf(tabs)!
    first.tab.freeze()
    const frozenAt = fake.clock.now()
    let thief: Member | undefined
    while (thief === undefined && fake.clock.now() - frozenAt < 5_000) {
      await pass(fake, 5, 5) // the tabs that stole at once from the stalled leader took it from each other: the last one keeps it
      const holder = leaderLock(fake).held.find(isLeaderLock)?.clientId
      if (holder !== first.tab.id) thief = tabOf(tabs, holder)
    }
    thief!.tab.freeze() // it may have announced itself first: the bound runs from its last word
    const thiefFrozenAt = fake.clock.now()
    const running = tabs.filter((t) => t !== first && t !== thief)
    await settle(fake, () => leaderOf(running) !== undefined, 'a running tab leads')
    expect(fake.clock.now() - thiefFrozenAt).toBeLessThanOrEqual(1_900)
    await settle(fake, () => running.every((t) => t.conn.state === 'open'), 'open again')
    server.server.broadcast('after')
    for (const t of running) t.conn.send(`from ${t.conn.member}`)
    await settle(fake, () => running.every((t) => t.messages.includes('after') && server.received.includes(`from ${t.conn.member}`)), 'both ways')
    first.tab.thaw()
    thief!.tab.thaw()
    await settle(fake, () => tabs.filter((t) => t.conn.share.role === 'leader').length === 1 && tabs.every((t) => t.conn.state === 'open'), 'one leader, every tab open')
    await pass(fake, 500)
    expect(server.live()).toBe(1)
  })
})

describe('shared connection: a slow leader is no dead one', () => {
  it('keeps a leader whose timers do not run (a hidden tab) as long as it answers the probes', async () => {
    const { server, fake, tabs } = await group('plain')
    const first = leaderOf(tabs)!
    first.tab.throttled = true // no beat from it any more
    await pass(fake, 10_000, 50)
    expect(leaderOf(tabs)).toBe(first)
    expect(server.accepted).toBe(1)
    const sender = tabs.find((t) => t !== first)!
    sender.conn.send('still through the slow leader')
    await settle(fake, () => server.received.includes('still through the slow leader'), 'sent')
    first.tab.thaw()
  })
})

describe('shared connection: close() and reconnect()', () => {
  it('keeps the socket while another tab uses it, and closes it when the last one lets go', async () => {
    const { server, fake, tabs } = await group('plain', 2)
    const [a, b] = tabs as [Member, Member]
    a.conn.close(1000, 'done here')
    await settle(fake, () => a.conn.state === 'idle', 'this tab idle')
    expect(a.events.close.at(-1)).toEqual({ code: 1000, reason: 'done here', wasClean: true })
    await pass(fake, 1_500)
    expect(b.conn.state).toBe('open')
    expect(server.live()).toBe(1)
    server.server.broadcast('only b')
    await settle(fake, () => b.messages.includes('only b'), 'b hears it')
    expect(a.messages).toEqual([])
    b.conn.close(4000, 'all done')
    await settle(fake, () => server.live() === 0, 'the socket closed')
    a.conn.open()
    await settle(fake, () => a.conn.state === 'open' && server.live() === 1, 'open again for a')
    expect(b.conn.state).toBe('idle')
  })

  it('reconnects the shared socket from any tab', async () => {
    const { server, fake, tabs } = await group('plain', 2)
    const follower = tabs.find((t) => t.conn.share.role === 'follower')!
    follower.conn.reconnect()
    await settle(fake, () => server.accepted === 2 && tabs.every((t) => t.conn.state === 'open'), 'a new socket')
    expect(server.most).toBe(1)
    for (const t of tabs) expect(t.events.state.map((s) => s.state)).toEqual(['open', 'connecting', 'open'])
  })
})

describe('shared connection: visibility', () => {
  it('keeps the lead when the only visible tab has crashed, and hands it to a tab that answers once it is visible', async () => {
    const { server, fake, tabs } = await group('plain', 3)
    const first = leaderOf(tabs)!
    const [gone, hidden] = tabs.filter((t) => t !== first) as [Member, Member]
    hidden.tab.setVisible(false)
    first.tab.setVisible(false)
    await pass(fake, 1_000)
    crash(gone) // visible, and never says goodbye
    await pass(fake, 5 * 60_000 + 2_000, 1_000)
    await pass(fake, 1_000)
    expect(leaderOf(tabs)).toBe(first)
    expect(server.accepted).toBe(1)
    expect(first.conn.state).toBe('open')
    expect(hidden.conn.state).toBe('open')
    hidden.tab.setVisible(true)
    await settle(fake, () => leaderOf(tabs) === hidden && hidden.conn.state === 'open', 'the tab that became visible leads')
    expect(server.most).toBe(1)
  })

  it('hands the lead to a visible tab after the leader was hidden for five minutes', async () => {
    const { server, fake, tabs } = await group('plain', 2)
    const first = leaderOf(tabs)!
    first.tab.setVisible(false)
    await pass(fake, 5 * 60_000 - 1_000, 1_000)
    expect(leaderOf(tabs)).toBe(first)
    await pass(fake, 2_000, 100)
    await settle(fake, () => leaderOf(tabs) !== undefined && leaderOf(tabs) !== first, 'the visible tab leads')
    await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'open again')
    expect(server.most).toBe(1)
  })
})

describe('shared connection: a send from a listener during a takeover', () => {
  // The tab holds messages no leader took (sent after the leader crashed); its app sends once more from each event the takeover brings.
  for (const delivery of ['plain', 'reliable'] as const) {
    for (const who of ['heir', 'follower'] as const) {
      it(`sends the tab's earlier messages first when its share, state and close listeners send (${delivery}, the ${who === 'heir' ? 'tab that takes over' : 'tab that follows the next leader'})`, async () => {
        const server = await countingServer(delivery)
        const fake = browser()
        const tabs = Array.from({ length: who === 'heir' ? 2 : 3 }, () => member(fake, { url: server.url, delivery }))
        await settle(fake, () => tabs.every((t) => t.conn.state === 'open'), 'every tab open')
        const first = leaderOf(tabs)!
        const sender = who === 'heir' ? tabs.find((t) => t !== first)! : tabs.at(-1)!
        const said: string[] = []
        let armed = false
        for (const type of ['share', 'state', 'close'] as const) {
          sender.conn.on(type, () => {
            if (!armed || said.includes(type)) return
            said.push(type)
            sender.conn.send(`from ${type}`)
          })
        }
        crash(first)
        for (let i = 1; i <= 3; i++) sender.conn.send(`gap${i}`)
        armed = true
        await settle(fake, () => said.length === 3 && server.received.length >= 6 && sender.conn.buffered === 0, 'every message at the server', 10_000)
        await pass(fake, 300)
        expect(server.received).toEqual(['gap1', 'gap2', 'gap3', ...said.map((type) => `from ${type}`)])
        expect(sender.events.error).toEqual([])
      })
    }
  }
})
