/**
 * A plain page for the inspector tests: one lifeline connection to the demo
 * server and the inspector mounted as an application would mount it (the
 * floating panel, no target). `?replay` skips the connection: the test hands
 * the page a trace to step through instead.
 */
import { createConnection, type Connection } from '../../../src/index.js'
import { mountInspector, recordTrace, type MountedInspector, type Recording, type Trace } from '../../../src/inspector/index.js'

const query = new URLSearchParams(location.search)
const name = `plain-${Math.random().toString(36).slice(2, 7)}`
const number = (key: string, fallback: number) => Number(query.get(key) ?? fallback)

let conn: Connection | undefined
let inspector: MountedInspector | undefined
let recording: Recording | undefined

// Something of an application behind the panel, for the screenshots.
document.querySelector('#app')!.innerHTML = `
  <h1 style="font: 600 26px system-ui, sans-serif; margin: 32px 40px 8px">Orders</h1>
  <p style="font: 15px/1.5 system-ui, sans-serif; margin: 0 40px; color: #555; max-width: 560px">An application's page. Its live connection is a lifeline connection,
  created without any inspect option; <code>mountInspector(conn)</code> added the panel in the corner.</p>`

if (!query.has('replay')) {
  conn = createConnection({
    url: `ws://${location.host}/ws?name=${name}`,
    heartbeat: { interval: number('interval', 300), timeout: number('timeout', 300) },
    reconnect: { initialDelay: number('initialDelay', 100), maxDelay: number('maxDelay', 200) },
  })
  inspector = mountInspector(conn)
}

;(window as unknown as { lifelinePage: unknown }).lifelinePage = {
  name,
  state: () => conn?.state,
  record() {
    recording = recordTrace(conn!)
  },
  stop(): Trace {
    return recording!.stop()
  },
  replay(trace: Trace) {
    inspector?.unmount()
    inspector = mountInspector(trace)
  },
  unmount() {
    inspector?.unmount()
  },
  /** A second connection, its own panel in a target, then dispose() while the panel is mounted. */
  disposeWhileMounted(): string {
    const target = document.createElement('section')
    target.id = 'second'
    document.body.append(target)
    const second = createConnection({ url: `ws://${location.host}/ws?name=${name}-2`, autoConnect: false })
    mountInspector(second, { target: '#second', name: 'second' })
    second.open()
    second.dispose()
    return second.state
  },
  /** What mountInspector says to a target that is not there, and to something that is not a connection. */
  misuse(): Array<{ code: string; message: string }> {
    const attempts = [() => mountInspector(conn!, { target: '#nowhere' }), () => mountInspector({} as never), () => mountInspector(conn!, { target: 42 as never })]
    return attempts.map((attempt) => {
      try {
        attempt()
        return { code: 'none', message: '' }
      } catch (error) {
        return { code: (error as { code: string }).code, message: (error as Error).message }
      }
    })
  },
}
document.body.dataset.ready = 'true'
