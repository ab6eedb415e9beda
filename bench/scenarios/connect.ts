// Connecting a peer and waiting for it to open, with a deadline.
import type { PeerName, ServerKind } from '../peers/catalog.js'
import { CATALOG } from '../peers/catalog.js'
import { loadPeer } from '../peers/load.js'
import type { Handlers, Mode, PeerAdapter, PeerClient } from '../peers/types.js'
import { deferred, within } from '../util.js'

/** The server a peer is measured against when the scenario wants client cost alone. */
export const neutralServer = (peer: PeerName): ServerKind => (CATALOG[peer].server === 'socketio' ? 'socketio' : 'plain')

/** Connects and resolves once the first connection is open. */
export async function connectOpen(
  adapter: PeerAdapter,
  port: number,
  mode: Mode,
  handlers: Omit<Handlers, 'open'> & { open?: () => void } = {},
  ms = 15_000,
): Promise<PeerClient> {
  const opened = deferred<void>()
  const client = adapter.connect(port, {
    ...handlers,
    open: () => {
      opened.resolve()
      handlers.open?.()
    },
  }, mode)
  await within(opened.promise, ms, 'the first open')
  return client
}

export { loadPeer }
