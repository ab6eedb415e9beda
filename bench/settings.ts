// What every scenario runs with. One place, so the printed settings are the ones used.

/** The comparable settings every peer gets as closely as it allows. */
export const COMMON = {
  heartbeatInterval: 1_000,
  heartbeatTimeout: 1_000,
  reconnectDelay: 500,
} as const

/** The loopback address every server binds and every client dials. */
export const HOST = '127.0.0.1'

/** Messages of the hot path; 64 bytes each. */
export const PAYLOAD = 'x'.repeat(64)

export interface Sizes {
  detection: { trials: number; capMs: number; reopenCapMs: number }
  restart: { trials: number; downMs: number; watchMs: number }
  hotpath: { rounds: number; peerRounds: number; echo: number; window: number; oneway: number; warmup: number }
  memory: { connections: number }
  cpu: { connections: number; seconds: number; pairTrials: number }
  herd: { trials: number; clients: number; downMs: number; capMs: number }
  slowConsumer: { chunkBytes: number; floodMs: number; capBytes: number }
  createCost: { trials: number; connections: number; block: number; warmup: number; dropped: number }
  cluster: { sends: number; blocks: number; warmup: number; gapMs: number; clients: number; messages: number; window: number; capMs: number }
  serverScale: { clients: number; seconds: number; settleMs: number; pairTrials: number }
  openCost: { connections: number; block: number }
}

export const FULL: Sizes = {
  detection: { trials: 5, capMs: 30_000, reopenCapMs: 10_000 },
  restart: { trials: 5, downMs: 2_000, watchMs: 3_000 },
  // ws and lifeline (the bar's ratio) get 5 interleaved rounds, the other peers 3.
  hotpath: { rounds: 5, peerRounds: 3, echo: 200_000, window: 1_000, oneway: 500_000, warmup: 20_000 },
  memory: { connections: 2_000 },
  // ws and lifeline (the bar's runs) twice, interleaved; the other runs once.
  cpu: { connections: 2_000, seconds: 20, pairTrials: 2 },
  herd: { trials: 2, clients: 300, downMs: 1_000, capMs: 15_000 },
  // 64 KiB messages for 3 s; bare ws stops at 256 MiB held, to stay safe on a shared machine.
  slowConsumer: { chunkBytes: 64 * 1024, floodMs: 3_000, capBytes: 256 * 1024 * 1024 },
  // The 1st thousand against the 10th; 1,000 connections close()d and dropped for the GC check.
  createCost: { trials: 3, connections: 10_000, block: 1_000, warmup: 3_000, dropped: 1_000 },
  // 2,000 probes, one every 2 ms, in 4 blocks of 500 interleaved across the systems, each after 100 unmeasured ones;
  // broadcasts at most 50 messages ahead of the slowest client.
  cluster: { sends: 2_000, blocks: 4, warmup: 100, gapMs: 2, clients: 200, messages: 2_000, window: 50, capMs: 120_000 },
  // 10,000 idle clients on one server; ws and lifeline (the bars' pair) twice, interleaved.
  serverScale: { clients: 10_000, seconds: 10, settleMs: 3_000, pairTrials: 2 },
  // 10,000 real connections per peer, timed per thousand.
  openCost: { connections: 10_000, block: 1_000 },
}

/** `--quick`: every scenario tiny, only to prove it completes and yields figures (CI). */
export const QUICK: Sizes = {
  detection: { trials: 1, capMs: 3_000, reopenCapMs: 3_000 },
  restart: { trials: 1, downMs: 2_000, watchMs: 500 },
  hotpath: { rounds: 1, peerRounds: 1, echo: 2_000, window: 100, oneway: 5_000, warmup: 200 },
  memory: { connections: 20 },
  cpu: { connections: 20, seconds: 1, pairTrials: 1 },
  herd: { trials: 1, clients: 20, downMs: 1_000, capMs: 5_000 },
  slowConsumer: { chunkBytes: 64 * 1024, floodMs: 500, capBytes: 64 * 1024 * 1024 },
  createCost: { trials: 1, connections: 2_000, block: 1_000, warmup: 100, dropped: 200 },
  cluster: { sends: 100, blocks: 1, warmup: 10, gapMs: 2, clients: 20, messages: 50, window: 50, capMs: 15_000 },
  serverScale: { clients: 100, seconds: 1, settleMs: 300, pairTrials: 1 },
  openCost: { connections: 400, block: 200 },
}

/**
 * The heartbeat settings of a server: `common` (1 s / 1 s), each library's
 * `defaults`, or `server-driven` (lifeline's helper pings, 1 s / 1 s).
 */
export type ServerSettings = 'common' | 'defaults' | 'server-driven'
