/**
 * The leading tab's half on its own (src/share/leader.ts): what it takes
 * from the members, against a real lifeline server on 127.0.0.1.
 */
import WebSocket from 'ws'
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/options.js'
import type { WebSocketConstructor } from '../../src/types.js'
import { Leader, type LeaderKind } from '../../src/share/leader.js'
import { TakenMarks } from '../../src/share/replica.js'
import { countingServer, until } from './helpers.js'

const MEMBER = '00000000000000aa'

async function leading(delivery: 'plain' | 'reliable') {
  const server = await countingServer(delivery)
  const published: { kind: LeaderKind; body: Record<string, unknown> }[] = []
  const reported: unknown[] = []
  const leader = new Leader({
    member: '00000000000000ff',
    options: resolveOptions({ url: server.url, share: 'leader', delivery }),
    platformWebSocket: WebSocket as unknown as WebSocketConstructor,
    replica: undefined,
    taken: new TakenMarks(),
    publish: (kind, body) => published.push({ kind, body }),
    clear: () => true,
    confirm: async () => true,
    wanted: async () => true,
    report: (error) => reported.push(error),
  })
  return { server, leader, published, reported }
}

describe('the leading tab', () => {
  it("sends a member's messages in the member's order, whatever order they reach it in, each once", async () => {
    const { server, leader, published, reported } = await leading('plain')
    leader.accept(MEMBER, 2, 'second')
    leader.accept(MEMBER, 1, 'first')
    leader.accept(MEMBER, 2, 'second, again')
    leader.accept(MEMBER, 3, 'third')
    leader.start()
    await until(() => server.received.length >= 3, 5_000, 'three messages')
    leader.accept(MEMBER, 1, 'first, once more')
    await until(() => published.filter((p) => p.kind === 'taken').length >= 4, 5_000, 'the last taken said again')
    expect(server.received).toEqual(['first', 'second', 'third'])
    expect(published.filter((p) => p.kind === 'taken').map((p) => p.body.id)).toEqual([1, 2, 3, 3])
    expect(reported).toEqual([])
    leader.end()
  })

  it('refuses a message over its bound for a member without counting the member\'s waiting ones as taken', async () => {
    const { leader, published } = await leading('plain')
    const maxMessages = 1_000
    for (let id = 1; id <= maxMessages + 1; id++) leader.accept(MEMBER, id, `m${id}`)
    expect(published.map((p) => [p.kind, p.body.id, p.body.code])).toEqual([['refused', maxMessages + 1, 'LIFELINE_BUFFER_FULL']])
    leader.accept(MEMBER, 1, 'm1, again') // still waiting: neither taken nor queued twice
    expect(leader.queued(MEMBER)).toBe(maxMessages)
    expect(published).toHaveLength(1)
    leader.end()
  })
})
