/**
 * A reliable session handed from one tab to the next. Kept out of the
 * session itself, so that a page that does not share pays nothing for it.
 */
import type { ReliableSession, SessionState } from '../reliable/session.js'

/** The session as it stands, for another tab to resume. */
export function exportSession(session: ReliableSession): SessionState {
  const entries = session.outbox.unacknowledged()
  return { id: session.id, established: session.established, delivered: session.inbox.delivered, first: entries[0]?.seq ?? session.outbox.nextSeq, messages: entries.map((e) => e.data) }
}

/**
 * Takes over a session another tab ran (before any socket): its id, what it
 * received, and what it sent without an acknowledgement, which goes out
 * again after the welcome (or is reported lost if the server no longer holds it).
 */
export function adoptSession(session: ReliableSession, state: SessionState): void {
  session.id = state.id
  session.established = state.established
  session.inbox.delivered = state.delivered
  session.outbox.restore(state.first, state.messages)
}
