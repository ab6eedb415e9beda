/**
 * How a transition is named in diagrams (the README's, the inspector's):
 * its event, `⏱ delay` for a timer, and its guard in brackets: `[canRetry]`,
 * `[a && b]` for `and()` (`||`, `!` for `or()`, `not()`), and `[else]` for the unguarded fallback after
 * guarded alternatives of the same event, which is what it means.
 */
export interface TransitionLabel {
  /** The event type as the machine knows it, e.g. `xstate.after.heartbeatTimeout.connection.open.ackPending`. */
  eventType: string
  /** What a reader sees for the event: `socket.close`, or the delay's name for a timer. */
  event: string
  /** Whether the event is a timer (`after`): drawn with a clock. */
  timer: boolean
  /** The guard's name, `else` for a fallback, or undefined when the transition is unconditional. */
  guard?: string
}

const AFTER = 'xstate.after.'

/** The parts of a transition's label. `fallback`: an unguarded transition listed after guarded ones for its event. */
export function describeTransition(eventType: string, guard: unknown, fallback = false): TransitionLabel {
  const timer = eventType.startsWith(AFTER)
  const event = timer ? eventType.slice(AFTER.length).split('.')[0] ?? eventType : eventType === '' ? 'always' : eventType
  const name = guardLabel(guard) ?? (fallback ? 'else' : undefined)
  return name === undefined ? { eventType, event, timer } : { eventType, event, timer, guard: name }
}

/** One line of text: `⏱ heartbeatTimeout [canRetry]`, `socket.close [else]`, `open`. */
export function formatTransition(label: TransitionLabel): string {
  return `${label.timer ? `⏱ ${label.event}` : label.event}${label.guard === undefined ? '' : ` [${label.guard}]`}`
}

/** `formatTransition(describeTransition(...))`. */
export function transitionLabel(eventType: string, guard: unknown, fallback = false): string {
  return formatTransition(describeTransition(eventType, guard, fallback))
}

function guardLabel(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined
  if (typeof guard === 'string') return guard
  // and(), or() and not() are functions named so, holding their operands.
  const nested = (guard as { guards?: unknown[] }).guards
  if (Array.isArray(nested)) {
    const operands = nested.map((g) => guardLabel(g) ?? '?')
    const kind = (guard as { name?: unknown }).name
    if (kind === 'not') return `!${operands[0]}`
    return operands.join(kind === 'or' ? ' || ' : ' && ')
  }
  const type = (guard as { type?: unknown }).type
  return typeof type === 'string' ? type : 'guard'
}
