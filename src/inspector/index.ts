/**
 * lifeline-ws/inspector: a visual inspector for lifeline connections, in
 * any page. `mountInspector(connection)` draws the statechart with the
 * active state and the last transition, the pending timers, a timeline and
 * the snapshot; `recordTrace(connection)` records a trace (plain JSON) that
 * `mountInspector(trace)` steps through. Offline: it needs nothing but the
 * page itself.
 */
export { mountInspector, type MountOptions, type MountedInspector } from './mount.js'
export { recordTrace, type Inspectable, type RecordOptions, type Recording } from './recorder.js'
export { parseTrace, type Trace, type TraceAction, type TraceEvent, type TraceStep, type TraceTimer, type TraceTransition } from './trace.js'
export type { Json } from './json.js'
