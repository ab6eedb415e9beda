// The React page: lifeline-ws/react under <StrictMode>, bundled with React
// (19, or 18 from test/fixtures/react-18) by test/browser/react.test.ts.
// window.reactTest mounts, remounts, swaps and unmounts the components the
// test drives; `log` says what they rendered and heard.
import { StrictMode, useEffect, version, type ComponentType } from 'react'
import { flushSync } from 'react-dom'
import { createRoot, type Root } from 'react-dom/client'
import { Room } from '../../examples/react-room.js'
import { useConnection, useConnectionEvent, useConnectionState, type Connection } from '../../src/react/index.js'

interface Log {
  renders: number
  /** Committed states, each change once. */
  states: (string | null)[]
  rendersAtOpen: number
  messages: string[]
}

const log: Log = { renders: 0, states: [], rendersAtOpen: -1, messages: [] }

function Live({ url, copies = 1 }: { url: string; copies?: number }) {
  const connection = useConnection({ url, heartbeat: false, reconnect: { initialDelay: 50, maxDelay: 50, jitter: 0 } })
  const state = useConnectionState(connection)
  log.renders++
  useEffect(() => {
    if (log.states.at(-1) !== state) log.states.push(state)
    if (state === 'open') log.rendersAtOpen = log.renders
  }, [state])
  useConnectionEvent(connection, 'message', (data) => {
    if (typeof data === 'string') log.messages.push(data)
  })
  return (
    <>
      <p id="live" data-state={state ?? 'none'}>{state}</p>
      {Array.from({ length: copies - 1 }, (_, i) => <Sibling key={i} url={url} />)}
    </>
  )
}

// Another component with the same options: it shares the socket.
function Sibling({ url }: { url: string }) {
  useConnection({ url, heartbeat: false, reconnect: { initialDelay: 50, maxDelay: 50, jitter: 0 } })
  return null
}

// The same component under another type: what React sees when a module is
// replaced without Fast Refresh keeping the component (its whole subtree remounts).
function LiveReplaced(props: { url: string; copies?: number }) {
  return <Live {...props} />
}

// Rooms whose url is a function (a token provider, as the README suggests),
// each a new closure per render; `share`, when given, is the explicit key.
const rooms: Record<string, Connection | null> = {}
function TokenRoom({ server, room, share, tick }: { server: string; room: string; share?: string | undefined; tick: number }) {
  const connection = useConnection({ url: () => `${server}?room=${room}&tick=${tick}`, heartbeat: false }, share === undefined ? undefined : { key: share })
  rooms[room] = connection
  return <p className="token-room" id={`room-${room}`} data-state={useConnectionState(connection) ?? 'none'} />
}
let roomProps: { server: string; names: string[]; share?: string | undefined; tick: number } = { server: '', names: [], tick: 0 }
const renderRooms = () => flushSync(() => root!.render(<StrictMode>{roomProps.names.map((name) => <TokenRoom key={name} server={roomProps.server} room={name} share={roomProps.share} tick={roomProps.tick} />)}</StrictMode>))

const element = document.getElementById('root')!
let root: Root | undefined
let Component: ComponentType<{ url: string; copies?: number }> = Live
let props: { url: string; copies?: number } = { url: '' }

// flushSync: each step is committed, effects included, before the call returns.
const render = () => flushSync(() => root!.render(<StrictMode><Component {...props} /></StrictMode>))

Object.assign(window, {
  reactTest: {
    version,
    log,
    mount(url: string, copies = 1) {
      Object.assign(log, { renders: 0, states: [], rendersAtOpen: -1, messages: [] })
      Component = Live
      props = { url, copies }
      root = createRoot(element)
      render()
    },
    setUrl(url: string) {
      props = { ...props, url }
      render()
    },
    remount() {
      root!.unmount()
      root = createRoot(element)
      render()
    },
    replaceModule() {
      Component = Component === Live ? LiveReplaced : Live
      render()
    },
    unmount() {
      root?.unmount()
      root = undefined
    },
    mountTokenRooms(server: string, names: string[], share?: string) {
      roomProps = { server, names, share, tick: 0 }
      root = createRoot(element)
      renderRooms()
    },
    /** Renders the rooms again: new url closures that now say another tick. */
    rerenderTokenRooms(share?: string) {
      roomProps = { ...roomProps, share, tick: roomProps.tick + 1 }
      renderRooms()
    },
    /** Whether the named rooms hold one Connection object, and each one's state. */
    tokenRooms(names: string[]) {
      return { shared: new Set(names.map((name) => rooms[name])).size === 1, states: names.map((name) => rooms[name]?.state) }
    },
    reconnectTokenRoom(name: string) {
      rooms[name]!.reconnect()
    },
    mountRoom(server: string, room: string) {
      root = createRoot(element)
      flushSync(() => root!.render(<StrictMode><Room server={server} room={room} /></StrictMode>))
    },
  },
})
