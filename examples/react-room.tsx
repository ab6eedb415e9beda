import { useState } from 'react'
import { useConnection, useConnectionEvent, useConnectionState } from 'lifeline-ws/react'

// A chat room, e.g. <Room server="ws://127.0.0.1:8080/live" room="alice" /> against
// examples/server.ts. One socket per room whatever React does with the component
// (StrictMode's double mount, Fast Refresh, remounts); another room closes the old socket.
export function Room({ server, room }: { server: string; room: string }) {
  const connection = useConnection({ url: `${server}?name=${encodeURIComponent(room)}`, reconnect: { initialDelay: 500 } })
  const state = useConnectionState(connection) // 'idle' → 'connecting' → 'open', 'backoff'…: re-renders on each change
  const [lines, setLines] = useState<string[]>([])
  // Every message, none lost to batching; rendering is this listener's choice.
  useConnectionEvent(connection, 'message', (data) => {
    if (typeof data === 'string') setLines((seen) => [...seen.slice(-99), data])
  })
  return (
    <section data-state={state}>
      <p>{room}: {state}</p>
      <button disabled={state !== 'open'} onClick={() => connection?.send(`hello from ${room}`)}>Say hello</button>
      <ul>{lines.map((line, i) => <li key={i}>{line}</li>)}</ul>
    </section>
  )
}
