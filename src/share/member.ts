/**
 * A shared connection, as each tab holds it: a `Connection` whose socket may
 * be in another tab. It shows the leader's state and events (view.ts), keeps
 * each message it sent until the connection took it (own-messages.ts), and
 * takes its place in the group (group.ts). `close()` lets this tab go of the
 * connection; the socket closes when no tab wants it. Each tab that wants it
 * holds a Web Lock of its own, so that a tab that crashed stops counting.
 */
import { checkCloseArguments, checkListener, checkSendData } from '../connection.js'
import { LifelineError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Connection, ConnectionEventMap, ConnectionStateName, SendData, ShareStatus, WebSocketConstructor } from '../types.js'
import { Group } from './group.js'
import type { Mirror } from './mirror.js'
import { OwnMessages } from './own-messages.js'
import type { SharePlatform } from './platform.js'
import { TabView } from './view.js'

type Closer = { code: number | undefined; reason: string | undefined }

export class SharedConnection implements Connection {
  readonly shared = true
  readonly member: string
  private readonly view = new TabView()
  private readonly own: OwnMessages
  private readonly group: Group
  private wantLock: { release(): void; done: Promise<unknown> } | undefined
  private disposed = false
  private away = false
  private readonly unsubscribes: (() => void)[] = []

  constructor(options: ResolvedOptions, private readonly platform: SharePlatform, platformWebSocket: WebSocketConstructor | undefined) {
    this.member = platform.randomId()
    this.own = new OwnMessages(options)
    this.group = new Group({ member: this.member, options, platform, platformWebSocket, view: this.view, own: this.own })
    try {
      if (platform.lifecycle) this.unsubscribes.push(platform.lifecycle((signal) => (signal === 'leave' ? this.leave() : this.return())))
      if (platform.visibility) this.unsubscribes.push(platform.visibility.subscribe(() => this.group.visibilityChanged()))
      this.group.join()
      if (options.autoConnect) this.open()
    } catch (error) {
      // A platform that throws leaves nothing behind: no timer, no lock, no channel.
      this.leave()
      for (const unsubscribe of this.unsubscribes) unsubscribe()
      this.group.close()
      throw error
    }
  }

  get state(): ConnectionStateName {
    return this.view.state
  }

  get buffered(): number {
    return this.own.size + (this.group.replica?.pendingOf(this.member) ?? 0)
  }

  get actor(): Mirror['actor'] {
    return this.group.mirror.actor
  }

  get share(): ShareStatus {
    return this.group.share
  }

  open(): void {
    this.assertUsable('open')
    if (this.view.wants) {
      if (this.view.failed) this.group.use(true)
      return
    }
    this.view.want()
    this.acquireWant()
  }

  close(code?: number, reason?: string): void {
    if (this.disposed) return
    checkCloseArguments(code, reason)
    if (!this.view.wants) return
    this.releaseWant({ code, reason })
    this.view.letGo(code, reason)
  }

  reconnect(): void {
    this.assertUsable('reconnect')
    if (this.view.closingForReconnect) return
    if (!this.view.wants) return this.open()
    this.group.reconnect()
  }

  send(data: SendData): void {
    this.assertUsable('send')
    checkSendData(data)
    const entry = this.own.add(data, this.view.state, this.group.replica?.pendingOf(this.member) ?? 0, (error) => this.view.report(error))
    this.group.forward(entry)
  }

  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void {
    checkListener(type, listener)
    return this.view.emitter.on(type, listener)
  }

  dispose(): void {
    if (this.disposed) return
    // A leader alone takes the session's unacknowledged messages with it.
    const unacknowledged = this.group.alone ? this.group.replica?.state()?.messages ?? [] : []
    this.leave()
    this.disposed = true
    this.view.end()
    for (const unsubscribe of this.unsubscribes) unsubscribe()
    this.group.close()
    const { never, unsure } = this.own.discard()
    unsure.push(...unacknowledged)
    if (never.length > 0) {
      this.view.report(new LifelineError('LIFELINE_BUFFER_DISCARDED', `dispose() discarded ${never.length} message(s) that were never sent: they can safely be sent again`, { messages: never }))
    }
    if (unsure.length > 0) {
      this.view.report(new LifelineError('LIFELINE_UNACKNOWLEDGED_DISCARDED', `dispose() gave up on ${unsure.length} message(s) handed to the shared connection and not confirmed: they may or may not arrive`, { messages: unsure }))
    }
    this.view.emitter.clear()
  }

  private assertUsable(method: string): void {
    if (this.disposed) throw new LifelineError('LIFELINE_DISPOSED', `${method}() on a connection that was disposed`)
  }

  // The page goes (pagehide, freeze) or this connection is disposed: the lead passes on, the locks go.
  private leave(): void {
    if (this.away) return
    this.away = true
    this.group.leave()
    this.wantLock?.release()
    this.wantLock = undefined
  }

  private return(): void {
    if (!this.away || this.disposed) return
    this.away = false
    this.group.join()
    if (this.view.wants) this.acquireWant()
  }

  private acquireWant(): void {
    if (this.wantLock !== undefined || this.away) return
    let release = (): void => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const lock = { release, done: Promise.resolve() as Promise<unknown> }
    this.wantLock = lock
    lock.done = this.platform.locks.request(`${this.group.base}/want/${this.member}`, { mode: 'exclusive' }, () => {
      if (this.wantLock === lock) this.group.use(true)
      return held
    }).catch((error: unknown) => this.view.report(error))
  }

  private releaseWant(closer: Closer): void {
    const lock = this.wantLock
    this.wantLock = undefined
    if (lock === undefined) return
    lock.release()
    void lock.done.then(() => {
      if (!this.disposed) this.group.use(false, closer)
    })
  }
}
