// The worker's handle on a bench server process.
import { Child, type Message } from '../child.js'
import type { ServerKind } from '../peers/catalog.js'
import type { ServerSettings } from '../settings.js'

export interface ServerStats extends Message {
  open: number
  maxOpen: number
  total: number
  arrivals: number[]
  cpuMicros: number
}

export class ServerProcess {
  private readonly child: Child
  port = 0

  private constructor(readonly kind: ServerKind, settings: ServerSettings) {
    this.child = new Child('./servers/main.ts', [kind, settings])
  }

  /** Starts the process and waits until it has loaded (not yet listening). */
  static async spawn(kind: ServerKind, settings: ServerSettings = 'common'): Promise<ServerProcess> {
    const server = new ServerProcess(kind, settings)
    await server.child.next('ready', 20_000)
    return server
  }

  /** Listens on `port` (0: any free port) and resolves with it. */
  async listen(port = 0): Promise<number> {
    const { port: bound } = await this.child.request<Message & { port: number }>({ cmd: 'listen', port }, 'listening', 10_000)
    this.port = bound
    return bound
  }

  /** lifeline's helper: closes every client with the restart hint (1012, back within `within` ms) and frees the port. */
  async closeWithHint(within: number): Promise<void> {
    await this.child.request({ cmd: 'close', within }, 'closed', 30_000)
  }

  stats(): Promise<ServerStats> {
    return this.child.request<ServerStats>({ cmd: 'stats' }, 'stats', 10_000)
  }

  /** SIGKILL: the kernel closes its sockets, like a crashed server. */
  kill(): void {
    this.child.kill()
  }

  get exited(): Promise<number | null> {
    return this.child.exited
  }
}
