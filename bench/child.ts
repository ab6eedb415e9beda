import { fork, type ChildProcess } from 'node:child_process'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'

// Every child this process started, killed when it exits for any reason, so a
// failed or interrupted bench never leaves a server or a worker behind.
const children = new Set<ChildProcess>()
let exitHooked = false

function hookExit(): void {
  if (exitHooked) return
  exitHooked = true
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130))
  }
}

/** The repository root: children run there so `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface Message {
  ev: string
  [key: string]: unknown
}

/**
 * A child process spoken to over IPC: a TypeScript file of bench/ (run with
 * `--import tsx`), or an absolute path to compiled JavaScript (run as it is).
 */
export class Child {
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  private readonly inbox: Message[] = []
  private readonly waiters = new Set<(message: Message) => boolean>()

  constructor(script: string, args: readonly string[] = [], execArgv: readonly string[] = []) {
    hookExit()
    const compiled = isAbsolute(script)
    this.process = fork(compiled ? script : fileURLToPath(new URL(script, import.meta.url)), [...args], {
      cwd: ROOT,
      execArgv: compiled ? [...execArgv] : ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    children.add(this.process)
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code) => {
        children.delete(this.process)
        resolve(code)
      })
    })
    this.process.on('message', (message: Message) => {
      for (const waiter of this.waiters) if (waiter(message)) return
      this.inbox.push(message)
    })
  }

  send(message: object): void {
    if (this.process.connected) this.process.send(message)
  }

  /** The next message of type `ev` (one that arrived earlier counts), or a rejection after `ms`. */
  next<T extends Message>(ev: string, ms: number): Promise<T> {
    const queued = this.inbox.findIndex((m) => m.ev === ev || m.ev === 'error')
    if (queued >= 0) return settle<T>(this.inbox.splice(queued, 1)[0]!, ev)
    // A dead child answers nothing: waiting out the deadline would only delay the cleanup.
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.reject(new Error(`${this.name} has exited (${this.process.exitCode ?? this.process.signalCode}) before '${ev}'`))
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no '${ev}' from ${this.name} within ${ms} ms`)), ms)
      const onExit = (code: number | null): void => done(new Error(`${this.name} exited (${code}) before '${ev}'`))
      const waiter = (message: Message): boolean => {
        if (message.ev !== ev && message.ev !== 'error') return false
        settle<T>(message, ev).then(resolve, reject).finally(() => done())
        return true
      }
      const done = (error?: Error): void => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
        this.process.off('exit', onExit)
        if (error) reject(error)
      }
      this.waiters.add(waiter)
      this.process.once('exit', onExit)
    })
  }

  /** Hands every message of type `ev` to `fn` (never to `next()`) until the returned function is called. */
  on(ev: string, fn: (message: Message) => void): () => void {
    const waiter = (message: Message): boolean => {
      if (message.ev !== ev) return false
      fn(message)
      return true
    }
    this.waiters.add(waiter)
    return () => void this.waiters.delete(waiter)
  }

  request<T extends Message>(message: object, ev: string, ms: number): Promise<T> {
    const reply = this.next<T>(ev, ms)
    this.send(message)
    return reply
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL')
  }

  private get name(): string {
    return `child ${this.process.pid} (${this.process.spawnargs.slice(-2).join(' ')})`
  }
}

function settle<T>(message: Message, ev: string): Promise<T> {
  if (message.ev === 'error' && ev !== 'error') return Promise.reject(new Error(String(message.message)))
  return Promise.resolve(message as unknown as T)
}

/** In a child: exit when the parent goes away, so nothing outlives the bench. */
export function dieWithParent(): void {
  process.on('disconnect', () => process.exit(0))
}

export function reply(message: Message): void {
  process.send?.(message)
}
