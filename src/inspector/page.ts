/**
 * The page of `npx lifeline-ws inspect`: the inspector panel fed by the
 * relay, one source per connection of the Node processes that use
 * `inspector()`, with a picker. It loads trace files too, with no process
 * connected. Served as this package's own modules: nothing here may import
 * a bare specifier at run time.
 */
import { createPanel } from './mount.js'
import { PAGE_PATH, type RelayMessage } from './protocol.js'
import { fedSource, type FedSource } from './sources.js'

const RETRY_MS = 1_000

/** Follows the relay at `location` in a panel inside `target`. */
export function followRelay(target: Element): { close(): void } {
  const panel = createPanel({
    target,
    title: 'lifeline inspector · Node processes',
    empty: "No connection yet. In a Node process: createConnection({ url, inspect: inspector() }) with inspector from 'lifeline-ws/inspector/node'. Or load (or drop here) a trace file.",
  })
  const sources = new Map<string, FedSource>()
  let socket: WebSocket | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let closed = false
  panel.host.dataset.relay = 'connecting'

  const receive = (message: RelayMessage): void => {
    const existing = sources.get(message.id)
    if (message.type === 'lifeline.actor') {
      const received = performance.now()
      const now = () => message.now + (performance.now() - received)
      if (existing !== undefined) panel.remove(existing)
      const source = fedSource(message.id, message.name, message.trace, now)
      sources.set(message.id, source)
      panel.add(source, panel.current === undefined || panel.current === existing)
    } else if (existing === undefined) {
      return
    } else if (message.type === 'lifeline.step') {
      existing.push(message.step)
    } else {
      existing.setStatus(message.status)
    }
  }

  const connect = (): void => {
    if (closed) return
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${PAGE_PATH}`)
    socket = ws
    ws.addEventListener('open', () => {
      panel.host.dataset.relay = 'open'
    })
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return
      try {
        receive(JSON.parse(event.data) as RelayMessage)
      } catch (error) {
        console.error('lifeline inspector: a message from the relay could not be shown', error)
      }
    })
    ws.addEventListener('close', () => {
      panel.host.dataset.relay = 'closed'
      for (const source of sources.values()) if (source.status() === 'running') source.setStatus('disconnected')
      retry = setTimeout(connect, RETRY_MS)
    })
  }
  connect()
  return {
    close() {
      closed = true
      clearTimeout(retry)
      socket?.close()
      panel.unmount()
    },
  }
}

if (typeof document !== 'undefined' && document.querySelector('#inspector') !== null && location.pathname === '/') {
  ;(window as unknown as { lifelineRelay: unknown }).lifelineRelay = followRelay(document.querySelector('#inspector')!)
}
