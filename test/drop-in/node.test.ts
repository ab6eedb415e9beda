/**
 * The drop-in in Node, beyond the shared conformance cases: which WebSocket it
 * uses, its options, what it sends on its own (nothing), calls from inside its
 * listeners, thousands of instances, what it leaves behind once closed, and
 * lifeline's own server (reliable delivery) underneath.
 */
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import WsWebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ReconnectingWebSocket as BrowserEntryDropIn } from '../../src/index.js'
import { createManualNetwork, LifelineError, ReconnectingWebSocket, type WebSocketConstructor } from '../../src/index.node.js'
import { createHeartbeatServer, nameFromQuery } from '../../src/server/index.js'
import { startBehaviourServer, type BehaviourServer } from '../helpers/behaviour-server.js'
import { until } from '../helpers/servers.js'

let server: BehaviourServer
const sockets: ReconnectingWebSocket[] = []
beforeAll(async () => void (server = await startBehaviourServer()))
afterAll(() => server?.close())
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.close()
})

function open(path: string, options: ConstructorParameters<typeof ReconnectingWebSocket>[2] = {}, protocols?: string | string[]): ReconnectingWebSocket {
  const ws = new ReconnectingWebSocket(`${server.ws}${path}`, protocols, { reconnect: { initialDelay: 10, maxDelay: 20 }, ...options })
  sockets.push(ws)
  return ws
}

const opened = (ws: ReconnectingWebSocket) => until(() => ws.readyState === ws.OPEN, 5_000, 'open')
const code = (run: () => unknown): string | undefined => {
  try {
    run()
    return undefined
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).name
  }
}

describe('ReconnectingWebSocket in Node', () => {
  it('is a class: calling it without new throws a TypeError (rws, partysocket: throws if not created with new)', () => {
    expect(() => (ReconnectingWebSocket as unknown as (url: string) => void)(`${server.ws}/echo`)).toThrow(TypeError)
  })

  it('uses ws where there is no global WebSocket (Node 20); the browser entry\'s class then says what to pass (rws, partysocket: throws with missing constructor)', async () => {
    expect(globalThis.WebSocket).toBeUndefined()
    const ws = open('/echo')
    await opened(ws)
    expect(code(() => new BrowserEntryDropIn(`${server.ws}/echo`))).toBe('LIFELINE_NO_WEBSOCKET')
    const given = new BrowserEntryDropIn(`${server.ws}/echo`, undefined, { WebSocket: WsWebSocket })
    await until(() => given.readyState === given.OPEN, 5_000, 'open')
    given.close()
  })

  it('refuses a WebSocket option that is no constructor, options that are no object, url or protocols among them, and unknown options (rws, partysocket: throws with invalid constructor)', () => {
    const url = `${server.ws}/echo`
    expect(code(() => new ReconnectingWebSocket(url, undefined, { WebSocket: 123 as unknown as WebSocketConstructor }))).toBe('LIFELINE_INVALID_OPTION')
    for (const options of [5, 'options', [], () => {}]) expect(code(() => new ReconnectingWebSocket(url, undefined, options as object))).toBe('LIFELINE_INVALID_OPTION')
    expect(() => new ReconnectingWebSocket(url, undefined, { url } as object)).toThrow(/pass the URL as its first argument/)
    expect(() => new ReconnectingWebSocket(url, undefined, { protocols: ['a'] } as object)).toThrow(/pass the subprotocols as its second argument/)
    expect(() => new ReconnectingWebSocket(url, undefined, { autoConnect: 'yes' } as object)).toThrow('autoConnect must be true or false, got "yes"')
    expect(() => new ReconnectingWebSocket(url, undefined, { heartbeet: false } as object)).toThrow(/Unknown option heartbeet/)
  })

  it('takes no options, undefined or null as no options', async () => {
    for (const options of [undefined, null]) {
      const ws = new ReconnectingWebSocket(`${server.ws}/echo`, undefined, options as undefined)
      sockets.push(ws)
      await opened(ws)
    }
  })

  it('sends nothing the application did not send and delivers every frame, ping and pong texts too, unless given a heartbeat', async () => {
    const ws = open('/echo?nothing-of-its-own')
    const heard: unknown[] = []
    ws.onmessage = (e) => heard.push(e.data)
    await opened(ws)
    ws.send('ping')
    ws.send('pong')
    await until(() => heard.length === 2, 5_000, 'both echoes')
    expect(heard).toEqual(['ping', 'pong'])
    expect(server.sockets('/echo').find((s) => s.query.has('nothing-of-its-own'))!.received).toEqual(['ping', 'pong'])
  })

  it('reads CONNECTING while offline: error and close 1006 offline when the network goes, a new open when it comes back', async () => {
    const network = createManualNetwork(true)
    const ws = open('/echo?offline', { network })
    const seen: string[] = []
    ws.onopen = () => seen.push('open')
    ws.onerror = () => seen.push('error')
    ws.onclose = (e) => seen.push(`close ${e.code} ${e.reason} ${e.wasClean}`)
    await opened(ws)
    network.set(false)
    await until(() => seen.length === 3, 5_000, 'the close')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(ws.readyState).toBe(ws.CONNECTING)
    network.set(true)
    await until(() => seen.length === 4, 5_000, 'the open')
    expect(seen).toEqual(['open', 'error', 'close 1006 offline false', 'open'])
  })

  it('fails an open link whose server breaks the protocol (a reserved opcode) with error, then close, as browsers do', async () => {
    const ws = new ReconnectingWebSocket(`${server.ws}/bad-frame?after=20`, undefined, { reconnect: { maxAttempts: 1 } })
    const seen: string[] = []
    ws.onopen = () => seen.push('open')
    ws.onerror = () => seen.push('error')
    ws.onclose = (e) => seen.push(`close ${e.wasClean}`)
    try {
      await until(() => seen.length === 3, 5_000, 'the close')
      expect(seen).toEqual(['open', 'error', 'close false'])
    } finally {
      ws.close()
    }
  })

  it('ends an open link the peer resets (TCP RST) with close 1006 alone, as browsers do', async () => {
    // A proxy in front of the echo path that resets the client's TCP connection once it is open.
    const target = new URL(server.ws)
    const resets: net.Socket[] = []
    const proxy = net.createServer((client) => {
      client.on('error', () => {})
      const upstream = net.connect(Number(target.port), target.hostname)
      upstream.on('error', () => {})
      client.pipe(upstream).pipe(client)
      resets.push(client)
    })
    proxy.listen(0, '127.0.0.1')
    await once(proxy, 'listening')
    const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/echo?reset`, undefined, { reconnect: { maxAttempts: 1 } })
    const seen: string[] = []
    ws.onopen = () => {
      seen.push('open')
      resets[0]!.resetAndDestroy()
    }
    ws.onerror = () => seen.push('error')
    ws.onclose = (e) => seen.push(`close ${e.code} ${JSON.stringify(e.reason)} ${e.wasClean}`)
    try {
      await until(() => seen.length === 2, 5_000, 'the close')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(seen).toEqual(['open', 'close 1006 "" false'])
    } finally {
      ws.close()
      for (const socket of resets) socket.destroy()
      proxy.close()
    }
  })

  it('backs off against a server that accepts and closes at once, though it has no heartbeat (rws: minUptime)', async () => {
    const ws = open('/close?code=1011&reason=crashed&crash-loop', { reconnect: { initialDelay: 10, maxDelay: 1_000, jitter: 0 } })
    const retries: { attempt: number; delay: number }[] = []
    ws.connection.on('reconnect', (retry) => retries.push(retry))
    await until(() => retries.length >= 4, 5_000, 'four retries')
    expect(retries.slice(0, 4)).toEqual([{ attempt: 1, delay: 10 }, { attempt: 2, delay: 20 }, { attempt: 3, delay: 40 }, { attempt: 4, delay: 80 }])
  })

  it('gives up on an attempt that does not open within connectTimeout: error, then close 1006 connect-timeout', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, undefined, { connectTimeout: 50, reconnect: { maxAttempts: 1 } })
    const seen: string[] = []
    ws.onerror = () => seen.push('error')
    ws.onclose = (e) => seen.push(`close ${e.code} ${e.reason} ${e.wasClean}`)
    try {
      await until(() => seen.length === 2, 5_000, 'the timeout')
      expect(seen).toEqual(['error', 'close 1006 connect-timeout false'])
      expect(ws.readyState).toBe(ws.CLOSED)
    } finally {
      silent.close()
    }
  })

  it('rethrows from the constructor what the first socket\'s constructor threw, and leaves no connection behind', () => {
    const refusal = new DOMException('The port is blocked', 'SecurityError')
    class Refusing {
      constructor() {
        throw refusal
      }
    }
    expect(() => new ReconnectingWebSocket(`${server.ws}/echo`, undefined, { WebSocket: Refusing as unknown as WebSocketConstructor })).toThrow(refusal)
  })

  it('lets the buffer\'s LIFELINE_BUFFER_FULL through with overflow: reject', () => {
    const ws = new ReconnectingWebSocket('ws://127.0.0.1:9/', undefined, { autoConnect: false, buffer: { maxMessages: 1, overflow: 'reject' } })
    ws.reconnect()
    ws.send('one')
    const error = (() => {
      try {
        ws.send('two')
      } catch (thrown) {
        return thrown
      }
    })()
    expect(error).toBeInstanceOf(LifelineError)
    expect((error as LifelineError).code).toBe('LIFELINE_BUFFER_FULL')
    ws.connection.on('error', () => {}) // 'one' is discarded on close, and reported
    ws.close()
  })

  it('survives its own methods called from inside its listeners: close() in open, reconnect() in close, send() in message', async () => {
    const ws = open(`/drop?after=20&once=${Math.random()}`)
    const seen: string[] = []
    ws.onopen = () => {
      seen.push(`open ${ws.readyState}`)
      if (seen.filter((s) => s.startsWith('open')).length === 3) ws.close()
      else ws.send('hello')
    }
    ws.onmessage = (e) => {
      seen.push(`message ${String(e.data)}`)
      ws.reconnect()
    }
    ws.onclose = (e) => {
      seen.push(`close ${e.code} ${e.reason}`)
      if (e.code === 1006 && e.reason === '') ws.reconnect()
    }
    await until(() => seen.at(-1) === 'close 1000 ', 5_000, 'the final close')
    expect(seen).toEqual(['open 1', 'close 1006 ', 'open 1', 'message hello', 'close 1006 reconnect', 'open 1', 'close 1000 '])
  })

  it('closes a thousand instances at once, the open ones each with its close event, and keeps none of their connections', async () => {
    const many = Array.from({ length: 900 }, () => new ReconnectingWebSocket(`${server.ws}/echo`, undefined, { autoConnect: false }))
    many.forEach((ws) => ws.close())
    // A closed drop-in's connection is disposed: it takes no more calls.
    expect(many.filter((ws) => code(() => ws.connection.open()) === 'LIFELINE_DISPOSED')).toHaveLength(900)
    const live = Array.from({ length: 100 }, () => open('/echo?many'))
    await until(() => live.every((ws) => ws.readyState === ws.OPEN), 10_000, '100 open')
    let closes = 0
    for (const ws of live) ws.onclose = () => closes++
    live.forEach((ws) => ws.close())
    await until(() => closes === 100, 5_000, '100 close events')
    expect(live.filter((ws) => code(() => ws.connection.open()) === 'LIFELINE_DISPOSED')).toHaveLength(100)
  })

  it('is garbage-collected once closed and dropped, its connection with it', async () => {
    const script = fileURLToPath(new URL('./collected.ts', import.meta.url))
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', '--import', 'tsx', script], { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr || String(error))) : resolve(stdout))),
    )
    expect(JSON.parse(output)).toEqual({ created: 300, collected: 300, actorsCollected: 300 })
  })

  it('runs over reliable delivery against lifeline\'s server: only application data reaches onmessage, open once the session is welcomed', async () => {
    const hb = createHeartbeatServer({ port: 0, path: '/live', delivery: 'reliable', identify: nameFromQuery })
    const { port } = await hb.listening
    hb.on('message', ({ name, data }) => void hb.send(name, `echo ${String(data)}`))
    const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/live?name=dropin`, undefined, { delivery: 'reliable' })
    const heard: unknown[] = []
    ws.onmessage = (e) => heard.push(e.data)
    ws.onopen = () => ws.send('hello')
    try {
      await until(() => heard.length === 1, 5_000, 'the echo')
      expect(heard).toEqual(['echo hello'])
      ws.close()
      await until(() => ws.readyState === ws.CLOSED, 5_000, 'closed')
    } finally {
      await hb.close()
    }
  })
})
