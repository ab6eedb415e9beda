// Reliable delivery under chaos (lifeline only: no peer has it). A client and
// lifeline/server stream numbered messages both ways through a TCP proxy while
// the driver breaks the link 1,000 times (black hole, reset, server-side
// close, reconnect(), offline/online); every message must arrive exactly once
// and in order. Then the cost: one-way throughput, reliable against plain.
import { runChaos } from '../../test/helpers/chaos.js'
import { createConnection } from '../../src/index.node.js'
import { createHeartbeatServer, nameFromQuery } from '../../src/server/index.js'
import { PEERS } from '../peers/catalog.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { median } from '../stats.js'

const NONE = 'n/a (no reliable delivery)'

async function oneWay(delivery: 'plain' | 'reliable', messages: number): Promise<number> {
  const server = createHeartbeatServer({ port: 0, delivery, identify: nameFromQuery })
  const { port } = await server.listening
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  server.on('message', () => ++received === messages && done())
  const conn = createConnection({ url: `ws://127.0.0.1:${port}/?name=t`, delivery, buffer: { maxMessages: messages } })
  await new Promise<void>((resolve) => (conn.state === 'open' ? resolve() : conn.on('open', () => resolve())))
  const start = performance.now()
  for (let i = 0; i < messages; i++) conn.send(`message ${i}`)
  await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`${delivery}: ${received}/${messages} in 60 s`)), 60_000))])
  const rate = messages / ((performance.now() - start) / 1000)
  conn.dispose()
  await server.close()
  return rate
}

export const chaos: Scenario = {
  name: 'chaos',
  title: 'Chaos (reliable delivery)',
  async run({ quick, trials, log }) {
    const disruptions = quick ? 10 : (trials ?? 1) * 1_000
    const result = await runChaos({ disruptions, seed: 2026 })
    log(`  chaos: ${JSON.stringify(result)}`)
    const rounds = quick ? 1 : 3
    const plain: number[] = []
    const reliable: number[] = []
    for (let i = 0; i < rounds; i++) {
      plain.push(await oneWay('plain', quick ? 2_000 : 50_000))
      reliable.push(await oneWay('reliable', quick ? 2_000 : 50_000))
    }
    const only = (lifeline: Cell): Partial<Record<(typeof PEERS)[number], Cell>> =>
      Object.fromEntries(PEERS.map((p) => [p, p === 'lifeline' ? lifeline : cell(null, NONE)]))
    const kinds = Object.entries(result.disruptions).map(([k, v]) => `${k} ${v}`).join(', ')
    const [reliableRate, plainRate] = [median(reliable) ?? 0, median(plain) ?? 1]
    const ratio = reliableRate / plainRate
    return {
      rows: [
        { metric: `disruptions survived (${kinds})`, cells: only(cell(result.survived, `${result.survived} of ${disruptions}`)), bar: { text: 'all', pass: result.survived === disruptions } },
        {
          metric: 'messages each way; duplicates; missing',
          cells: only(cell(result.duplicates + result.missing, `${result.clientSent.toLocaleString('en-US')} up, ${result.serverSent.toLocaleString('en-US')} down; ${result.duplicates}; ${result.missing}`)),
          bar: { text: 'exactly once, in order', pass: result.exactlyOnceInOrder },
        },
        { metric: `one-way throughput, reliable vs plain (${quick ? '2,000' : '50,000'} messages, median of ${rounds})`, cells: only(cell(ratio, `${Math.round(reliableRate).toLocaleString('en-US')}/s vs ${Math.round(plainRate).toLocaleString('en-US')}/s (${ratio.toFixed(2)}x)`)) },
      ],
      notes: [`Chaos: ${result.seconds.toFixed(1)} s, ${result.reconnects} reconnects; driver in test/helpers/chaos.ts (the CI test runs 200 disruptions).`],
      raw: { result, plain, reliable },
    }
  },
}
