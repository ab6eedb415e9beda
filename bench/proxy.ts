// A TCP proxy on loopback that can become a black hole: bytes stop in both
// directions and no FIN or RST is sent, like a dead NAT or a pulled cable.
// Only a heartbeat can find such a link; TCP itself would take minutes.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { HOST } from './settings.js'

interface Pair {
  downstream: Socket
  upstream: Socket | undefined
  dead: boolean
}

export class BlackHoleProxy {
  private readonly pairs = new Set<Pair>()
  private blackHoled = false

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<BlackHoleProxy> {
    let proxy: BlackHoleProxy | undefined
    const server = createServer((downstream) => proxy?.accept(downstream, targetPort))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, HOST, resolve)
    })
    const address = server.address()
    proxy = new BlackHoleProxy(server, typeof address === 'object' && address !== null ? address.port : 0)
    return proxy
  }

  /** Every connection, open or new, drops its bytes from now on; none is closed. */
  blackHole(): void {
    this.blackHoled = true
    for (const pair of this.pairs) pair.dead = true
  }

  /**
   * New connections are forwarded again. The black-holed ones stay dead: their
   * streams lost bytes, so no peer could make sense of them anyway.
   */
  restore(): void {
    this.blackHoled = false
  }

  close(): Promise<void> {
    for (const { downstream, upstream } of this.pairs) {
      downstream.destroy()
      upstream?.destroy()
    }
    this.pairs.clear()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  private accept(downstream: Socket, targetPort: number): void {
    const pair: Pair = { downstream, upstream: undefined, dead: this.blackHoled }
    this.pairs.add(pair)
    downstream.on('error', () => {})
    downstream.on('close', () => {
      if (!pair.dead) pair.upstream?.destroy()
      this.pairs.delete(pair)
    })
    // A connection accepted during the black hole never reaches the server.
    if (pair.dead) return void downstream.resume()
    const upstream = connect(targetPort, HOST)
    pair.upstream = upstream
    upstream.on('error', () => {})
    upstream.on('close', () => pair.dead || downstream.destroy())
    downstream.on('data', (chunk: Buffer) => pair.dead || upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => pair.dead || downstream.write(chunk))
  }
}
