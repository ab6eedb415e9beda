import { createServer } from 'node:http'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type WebSocket from 'ws'
import {
  createHeartbeatServer,
  dialects,
  type ClientDisconnectEvent,
  type HeartbeatServer,
  type HeartbeatServerOptions,
  type ServerHeartbeatOptions,
} from '../../src/server/index.js'

const create = (options: unknown) => () => createHeartbeatServer(options as HeartbeatServerOptions)

describe('heartbeat server options', () => {
  it.each([
    [undefined, /^options must be an object with a server or a port, got undefined$/],
    [{}, /^Pass a server \(an http.Server or https.Server\) or a port \(0 for any free one\); got neither$/],
    [{ port: 0, server: createServer() }, /^Pass either server or port, not both; got server and port 0$/],
    [{ port: -1 }, /^port must be an integer from 0 to 65535, got -1$/],
    [{ port: '8080' }, /^port must be an integer from 0 to 65535, got "8080"$/],
    [{ server: {} }, /^server must be an http.Server or https.Server, got an object \(Object\)$/],
    [{ server: createServer(), host: '0.0.0.0' }, /^host must be left out when server is given/],
    [{ port: 0, host: '' }, /^host must be a non-empty string, got ""$/],
    [{ port: 0, path: 'ws' }, /^path must be a pathname starting with '\/', got "ws"$/],
    [{ port: 0, identify: 'name' }, /^identify must be a function, got "name"$/],
    [{ port: 0, verify: true }, /^verify must be a function, got true$/],
    [{ port: 0, duplicate: 'kick' }, /^duplicate must be 'replace' or 'reject', got "kick"$/],
    [{ port: 0, heartbeat: 'on' }, /^heartbeat must be an object, true or false, got "on"$/],
    [{ port: 0, heartbeat: { interval: -1 } }, /^heartbeat.interval must be a positive number \(milliseconds\), got -1$/],
    [{ port: 0, heartbeat: { timeout: NaN } }, /^heartbeat.timeout must be a positive number \(milliseconds\), got NaN$/],
    [{ port: 0, heartbeat: { timeout: 2 ** 31 } }, /^heartbeat.timeout must be at most 2147483647 \(milliseconds\), got 2147483648$/],
    [{ port: 0, heartbeat: { isPing: 'ping' } }, /^heartbeat.isPing must be a function, got "ping"$/],
    [{ port: 0, heartbeat: { pong: 42 } }, /^heartbeat.pong must be a string, a Buffer or a function returning one, got 42$/],
    [{ port: 0, heartbeat: { pingg: 'ping' } }, /^Unknown option heartbeat.pingg; expected one of heartbeat.mode, heartbeat.interval, heartbeat.timeout, heartbeat.isPing, heartbeat.pong, heartbeat.ping, heartbeat.isPong$/],
    [{ port: 0, heartbeat: { mode: 'both' } }, /^heartbeat.mode must be 'client' or 'server', got "both"$/],
    [{ port: 0, heartbeat: { ping: 42 } }, /^heartbeat.ping must be a string, a Buffer or a function returning one, got 42$/],
    [{ port: 0, maxPayload: 1.5 }, /^maxPayload must be a positive integer \(bytes\), got 1.5$/],
    [{ port: 0, closeTimeout: 0 }, /^closeTimeout must be a positive number \(milliseconds\), got 0$/],
    [{ port: 0, maxBufferedBytes: 0 }, /^maxBufferedBytes must be a positive integer \(bytes\), got 0$/],
    [{ port: 0, upgradeTimeout: 2 ** 31 }, /^upgradeTimeout must be at most 2147483647 \(milliseconds\), got 2147483648$/],
    [{ port: 0, maxPendingUpgrades: -5 }, /^maxPendingUpgrades must be a positive integer, got -5$/],
    [{ port: 0, delivery: 'reliable' }, /^delivery: 'reliable' needs an identify/],
    [{ port: 0, delivery: 'reliable', identify: (): string => 'a', maxUnacknowledgedBytes: Infinity }, /^maxUnacknowledgedBytes must be a positive integer \(bytes\), got Infinity$/],
    [{ port: 0, delivery: 'reliable', identify: (): string => 'a', sessionStoreTimeout: 'soon' }, /^sessionStoreTimeout must be a positive number \(milliseconds\), got "soon"$/],
    [{ port: 0, delivery: 'reliable', identify: (): string => 'a', sessionStore: { load() {} } }, /^sessionStore must be an object with load\(\), save\(\) and delete\(\)/],
    [{ port: 0, paht: '/ws' }, /^Unknown option paht; expected one of server, port, host, path/],
  ])('rejects %o', (options, message) => {
    expect(create(options)).toThrow(message)
    expect(create(options)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LIFELINE_INVALID_OPTION' }))
  })

  it('accepts every dialect as a heartbeat preset', () => {
    for (const dialect of Object.values(dialects)) {
      expectTypeOf(dialect).toExtend<ServerHeartbeatOptions>()
      const server = createHeartbeatServer({ server: createServer(), heartbeat: { ...dialect, interval: 1_000 } })
      void server.close()
    }
  })

  it('types its public API', () => {
    expectTypeOf(createHeartbeatServer).returns.toEqualTypeOf<HeartbeatServer>()
    expectTypeOf<HeartbeatServer['clients']>().toEqualTypeOf<ReadonlyMap<string, WebSocket>>()
    expectTypeOf<ClientDisconnectEvent['reason']>().toEqualTypeOf<'closed' | 'replaced' | 'heartbeat-timeout' | 'error' | 'slow-consumer' | 'server-close' | 'disconnected'>()
    expectTypeOf<HeartbeatServer['on']>().parameter(0).toEqualTypeOf<'connection' | 'message' | 'disconnect' | 'error' | 'session-lost'>()
  })
})
