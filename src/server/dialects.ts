import type { HeartbeatDialect, InboundData } from './types.js'

// Cheap test first: most frames are not heartbeats, and JSON.parse on every
// frame would cost more than the heartbeat is worth.
function isModeCodeHeartbeat(data: InboundData, isBinary: boolean): boolean {
  if (isBinary || typeof data !== 'string' || !data.includes('heart_beat')) return false
  try {
    const parsed: unknown = JSON.parse(data)
    return typeof parsed === 'object' && parsed !== null && (parsed as { ModeCode?: unknown }).ModeCode === 'heart_beat'
  } catch {
    return false
  }
}

const echo = (ping: InboundData): InboundData => ping

/**
 * Heartbeat presets for the protocols in the seed notes; spread one into the
 * server's `heartbeat` option: `heartbeat: { ...dialects.seed001, interval: 30_000 }`.
 * The matching client settings are shown on each.
 */
export const dialects = {
  /**
   * lifeline's own: `'ping'` is answered `'pong'` (the default on both sides).
   * Client: `heartbeat: { ping: 'ping', isPong: (d) => d === 'pong' }`.
   */
  lifeline: {
    isPing: (data: InboundData): boolean => data === 'ping',
    pong: 'pong',
  },
  /**
   * Seed 000: `'Heartbeat 心跳检测'` is answered `'Heartbeat_ack'`.
   * Client: `heartbeat: { ping: 'Heartbeat 心跳检测', isPong: (d) => d === 'Heartbeat_ack', proof: 'pong' }`.
   */
  seed000: {
    isPing: (data: InboundData): boolean => data === 'Heartbeat 心跳检测',
    pong: 'Heartbeat_ack',
  },
  /**
   * Seed 001: a JSON text frame `{"ModeCode":"heart_beat","msg":...}` is echoed back unchanged.
   * Client: `heartbeat: { ping: () => JSON.stringify({ ModeCode: 'heart_beat', msg: Date.now() }), isPong: (d) => typeof d === 'string' && d.includes('"heart_beat"') }`.
   */
  seed001: {
    isPing: isModeCodeHeartbeat,
    pong: echo,
  },
  /**
   * Seed 003: `'heart_beat'` is answered `'ok'`.
   * Client: `heartbeat: { ping: 'heart_beat', isPong: (d) => d === 'ok' }`.
   */
  seed003: {
    isPing: (data: InboundData): boolean => data === 'heart_beat',
    pong: 'ok',
  },
} as const satisfies Record<string, Required<HeartbeatDialect>>
