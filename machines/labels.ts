/**
 * How a transition is named in diagrams (the README's and the demo's):
 * `event [guard]`, with `after <delay>` for timers and `a && b` for `and()`.
 */
export function transitionLabel(eventType: string, guard: unknown): string {
  const event = eventType.startsWith('xstate.after.') ? `after ${eventType.split('.')[2]}` : eventType
  const name = guardLabel(guard)
  return name ? `${event} [${name}]` : event
}

function guardLabel(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard
  const nested = (guard as { guards?: unknown[] } | undefined)?.guards
  if (Array.isArray(nested)) return nested.map(guardLabel).join(' && ')
  return (guard as { type?: string } | undefined)?.type
}
