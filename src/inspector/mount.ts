/**
 * `mountInspector(connection | trace)`: the panel in a page. A connection
 * is followed live through its actor's system (no `inspect` option needed);
 * a trace is stepped through.
 */
import { describe, invalid } from '../errors.js'
import { connectionChart } from './connection-chart.js'
import type { ChartLayout } from './layout.js'
import { Panel } from './panel.js'
import type { Inspectable } from './recorder.js'
import { liveSource, shareOf, traceSource, type PanelSource } from './sources.js'
import { isTrace, parseTrace, type Trace } from './trace.js'

/** Options of {@link mountInspector}. */
export interface MountOptions {
  /**
   * Where the panel goes: an element (or a CSS selector for one) it fills.
   * @default a floating, collapsible panel in the bottom-right corner of the page
   */
  target?: Element | string
  /** The title in the panel's header. @default 'lifeline inspector' */
  title?: string
  /** What the picker calls this connection (or trace). @default 'this page' for a connection, the trace's start time for a trace */
  name?: string
  /** What the panel says while it has nothing to show. */
  empty?: string
}

/** A mounted panel. */
export interface MountedInspector {
  /** The panel's host element: `data-lifeline-inspector`, `data-state` (the state shown, dotted: `open.waiting`). */
  readonly element: HTMLElement
  /** Removes the panel and stops following the connection. Calling it again does nothing. */
  unmount(): void
}

function resolveTarget(target: MountOptions['target']): Element | undefined {
  if (target === undefined) return undefined
  if (typeof target === 'string') {
    const element = document.querySelector(target)
    if (element === null) throw invalid('LIFELINE_INVALID_OPTION', `mountInspector() option target matches no element: ${describe(target)}`)
    return element
  }
  if (typeof Element === 'undefined' || !(target instanceof Element)) throw invalid('LIFELINE_INVALID_OPTION', `mountInspector() option target must be an element or a CSS selector, got ${describe(target)}`)
  return target
}

/** Builds a panel; the relay page uses it with sources of its own. */
export function createPanel(options: MountOptions = {}, layout: ChartLayout = connectionChart): Panel {
  if (typeof document === 'undefined') throw invalid('LIFELINE_INVALID_ARGUMENT', 'mountInspector() needs a page (document is undefined); in Node use lifeline-ws/inspector/node and npx lifeline-ws inspect')
  const target = resolveTarget(options.target)
  const settings = { floating: target === undefined, title: options.title ?? 'lifeline inspector' }
  return new Panel(target ?? document.body, layout, options.empty === undefined ? settings : { ...settings, empty: options.empty })
}

/**
 * Draws the inspector panel for a connection (followed live from now on:
 * the state, the last transition, pending timers, a timeline, the
 * snapshot) or for a trace (stepped through forwards and backwards).
 * Works for a connection created without an `inspect` option: the panel
 * attaches to its actor's system while mounted, and sees everything from
 * then on, with the timers already pending.
 */
export function mountInspector(subject: Inspectable | Trace, options: MountOptions = {}): MountedInspector {
  let source: PanelSource
  if (isTrace(subject)) {
    const trace = parseTrace(subject)
    source = options.name === undefined ? traceSource(trace) : traceSource(trace, options.name)
  } else if (typeof (subject as Inspectable | null)?.actor === 'object' && subject !== null) {
    if (shareOf(subject)?.member === '') return mountJoining(subject as Inspectable & Joinable, options)
    source = liveSource(subject as Inspectable, options.name ?? 'this page')
  } else {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `mountInspector() expects a lifeline connection or a trace, got ${describe(subject)}`)
  }
  let panel: Panel
  try {
    panel = createPanel(options)
  } catch (error) {
    source.close()
    throw error
  }
  panel.add(source)
  let mounted = true
  return {
    element: panel.host,
    unmount() {
      if (!mounted) return
      mounted = false
      panel.unmount()
    },
  }
}

interface Joinable {
  on(type: 'share', listener: () => void): () => void
}

// A shared connection whose share code is still loading: its statechart (the mirror) comes with it.
function mountJoining(connection: Inspectable & Joinable, options: MountOptions): MountedInspector {
  const panel = createPanel({ ...options, empty: options.empty ?? 'Joining the shared connection…' })
  let mounted = true
  const stop = connection.on('share', () => {
    if (!mounted || shareOf(connection)?.member === '') return
    stop()
    panel.add(liveSource(connection, options.name ?? 'this page'))
  })
  return {
    element: panel.host,
    unmount() {
      if (!mounted) return
      mounted = false
      stop()
      panel.unmount()
    },
  }
}
