/**
 * Tabs in one process, for the unit tests of sharing: a lock manager with
 * Web Locks' rules (exclusive locks granted in request order, `steal`,
 * `signal`, `query()` with each holder's client id, locks released when a
 * tab closes) and BroadcastChannels between tabs, which deliver a message to
 * every other channel of the same name asynchronously, in order, as
 * browsers do. A tab can be frozen (nothing reaches it; what arrives waits,
 * in order, as in a stalled page, and its timers wait too) and closed (its
 * locks go, its channels fall silent). Each tab gets a SharePlatform for a
 * shared connection. To extend it, model what a browser does, and say which
 * rule of the standard it follows.
 */
import { TestClock } from './test-clock.js'
import type { ChannelLike, LockManagerLike, SharePlatform } from '../../src/share/index.js'

interface Request {
  tab: Tab
  name: string
  callback: (lock: unknown) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  held: boolean
}

const abortError = (message: string): DOMException => new DOMException(message, 'AbortError')

/** The browser's lock manager, shared by the tabs. */
export class FakeLockManager {
  private queue: Request[] = []
  private held = new Map<string, Request>()

  request(tab: Tab, name: string, options: { signal?: AbortSignal; steal?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
    if (tab.closed) return new Promise(() => {})
    return new Promise((resolve, reject) => {
      const request: Request = { tab, name, callback, resolve, reject, held: false }
      if (options.signal?.aborted) return reject(abortError('The request was aborted.'))
      options.signal?.addEventListener('abort', () => {
        const index = this.queue.indexOf(request)
        if (index === -1) return
        this.queue.splice(index, 1)
        reject(abortError('The request was aborted.'))
      })
      if (options.steal) {
        const holder = this.held.get(name)
        if (holder !== undefined) {
          this.held.delete(name)
          holder.held = false
          // A task of the holder's page (after its grant, if that still waits in a stalled page), as the standard rejects its released promise.
          holder.tab.deliver(holder.tab, () => holder.reject(abortError("Lock broken by another request with the 'steal' option.")))
        }
        this.queue.unshift(request)
      } else {
        this.queue.push(request)
      }
      this.grant()
    })
  }

  query(): { held: { name: string; clientId: string }[]; pending: { name: string; clientId: string }[] } {
    return {
      held: [...this.held.values()].map((r) => ({ name: r.name, clientId: r.tab.id })),
      pending: this.queue.map((r) => ({ name: r.name, clientId: r.tab.id })),
    }
  }

  /** A closed tab's locks go, and its requests with them. */
  closed(tab: Tab): void {
    this.queue = this.queue.filter((r) => r.tab !== tab)
    for (const [name, request] of [...this.held]) if (request.tab === tab) this.held.delete(name)
    this.grant()
  }

  private grant(): void {
    for (const request of [...this.queue]) {
      if (this.held.has(request.name)) continue
      this.queue.splice(this.queue.indexOf(request), 1)
      this.held.set(request.name, request)
      request.held = true
      request.tab.deliver(request.tab, () => {
        let result: Promise<unknown>
        try {
          result = Promise.resolve(request.callback({ name: request.name }))
        } catch (error) {
          result = Promise.reject(error)
        }
        result.then(
          (value) => this.release(request, () => request.resolve(value)),
          (error: unknown) => this.release(request, () => request.reject(error)),
        )
      })
    }
  }

  private release(request: Request, settle: () => void): void {
    if (this.held.get(request.name) === request) {
      this.held.delete(request.name)
      this.grant()
    }
    if (request.held || !request.tab.closed) settle()
  }
}

/** A browser: its lock manager, its channels, its tabs. */
export class FakeBrowser {
  /** Wall time, the same for every tab. */
  readonly clock = new TestClock()
  readonly locks = new FakeLockManager()
  readonly tabs: Tab[] = []
  /** Tasks handed to running tabs and not yet run (messages, lock grants, query answers): a test lets them run before it moves the clock. */
  pending = 0
  private channels = new Map<string, Set<FakeChannel>>()
  private nextTab = 1

  tab(): Tab {
    const tab = new Tab(this, `client-${this.nextTab++}`, this.clock)
    this.tabs.push(tab)
    return tab
  }

  join(channel: FakeChannel): void {
    let set = this.channels.get(channel.name)
    if (set === undefined) this.channels.set(channel.name, (set = new Set()))
    set.add(channel)
  }

  leave(channel: FakeChannel): void {
    this.channels.get(channel.name)?.delete(channel)
  }

  /** Structured clone, then every other channel of the name, each in its own tab's turn. */
  broadcast(from: FakeChannel, data: unknown): void {
    const copy = structuredClone(data)
    for (const channel of this.channels.get(from.name) ?? []) {
      if (channel !== from) channel.tab.deliver(channel.tab, () => channel.dispatch(structuredClone(copy)))
    }
  }
}

export class FakeChannel implements ChannelLike {
  private listeners: ((event: { data: unknown }) => void)[] = []
  private open = true

  constructor(readonly tab: Tab, readonly name: string) {
    tab.browser.join(this)
  }

  postMessage(message: unknown): void {
    if (!this.open) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError')
    if (this.tab.closed) return
    // What a stalled page posts leaves once it runs again.
    const copy = structuredClone(message)
    if (this.tab.frozen) return this.tab.later(() => this.tab.browser.broadcast(this, copy))
    this.tab.browser.broadcast(this, copy)
  }

  close(): void {
    this.open = false
    this.tab.browser.leave(this)
  }

  addEventListener(_type: 'message', listener: (event: { data: unknown }) => void): void {
    this.listeners.push(listener)
  }

  dispatch(data: unknown): void {
    if (!this.open) return
    for (const listener of this.listeners) listener({ data })
  }

  /** Another code on the page posts on this channel's name. */
  static foreign(tab: Tab, name: string, data: unknown): void {
    const channel = new FakeChannel(tab, name)
    channel.postMessage(data)
    channel.close()
  }
}

/** One tab: its clock, its turn of work (which a freeze holds back), and its platform. */
export class Tab {
  closed = false
  frozen = false
  /** Its timers wait (a hidden tab's, throttled to once a minute and more), while messages still reach it. */
  throttled = false
  visible = true
  private waiting: (() => void)[] = []
  private visibilityListeners = new Set<() => void>()
  private lifecycleListeners = new Set<(signal: 'leave' | 'return') => void>()
  private ids = 0

  constructor(readonly browser: FakeBrowser, readonly id: string, readonly clock: TestClock) {}

  /** Runs `task` in this tab's turn: after the current one (a task), or once the tab thaws. */
  deliver(_target: Tab, task: () => void): void {
    if (this.closed) return
    if (this.frozen) return void this.waiting.push(task)
    this.browser.pending++
    setTimeout(() => {
      this.browser.pending--
      if (this.closed) return
      if (this.frozen) return void this.waiting.push(task)
      task()
    }, 0)
  }

  platform(): SharePlatform {
    const locks: LockManagerLike = {
      request: (name, options, callback) => this.browser.locks.request(this, name, options, callback),
      query: () => new Promise((resolve) => this.deliver(this, () => resolve(this.browser.locks.query()))),
    }
    return {
      locks,
      channel: (name) => new FakeChannel(this, name),
      lifecycle: (listener) => {
        this.lifecycleListeners.add(listener)
        return () => this.lifecycleListeners.delete(listener)
      },
      visibility: {
        isVisible: () => this.visible,
        subscribe: (listener) => {
          this.visibilityListeners.add(listener)
          return () => this.visibilityListeners.delete(listener)
        },
      },
      clock: {
        now: () => this.clock.now(),
        setTimeout: (callback, ms) => this.clock.setTimeout(() => (this.frozen || this.throttled ? this.waiting.push(callback) : callback()), ms),
        clearTimeout: (id) => this.clock.clearTimeout(id),
      },
      randomId: () => `${this.id.replace(/\D/g, '').padStart(8, '0')}${(++this.ids).toString(16).padStart(8, '0')}`,
    }
  }

  /** Runs `task` once the tab thaws (at once if it is not frozen). */
  later(task: () => void): void {
    if (this.frozen) this.waiting.push(task)
    else task()
  }

  /** Halts the tab: messages, lock grants, its timers and its own posts wait until `thaw()`. The sockets of its connection (real ones) keep running, as a renderer's network does. */
  freeze(): void {
    this.frozen = true
  }

  thaw(): void {
    this.frozen = false
    this.throttled = false
    const waiting = this.waiting
    this.waiting = []
    for (const task of waiting) task()
  }

  /** The tab closes or crashes: no word from it, its locks released. */
  close(): void {
    this.closed = true
    this.waiting = []
    this.browser.locks.closed(this)
  }

  setVisible(visible: boolean): void {
    this.visible = visible
    for (const listener of [...this.visibilityListeners]) listener()
  }

  lifecycle(signal: 'leave' | 'return'): void {
    for (const listener of [...this.lifecycleListeners]) listener(signal)
  }
}
