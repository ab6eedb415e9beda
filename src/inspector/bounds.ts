/**
 * Bounds on the JSON a trace file or an app's message may hold, checked
 * without recursion: a value nested 20,000 deep is refused here, never
 * passed on to a `JSON.stringify` or a renderer that would overflow the
 * stack. A recording stays far inside them (strings cut at 240 characters,
 * 40 members, 6 levels).
 */

/** Deepest nesting of arrays and objects in any field. */
export const MAX_JSON_DEPTH = 32
/** Longest string or key. */
export const MAX_TEXT = 1024
/** Most members of one array or object, and most actions, transitions or pending timers of a step. */
export const MAX_MEMBERS = 256
/** Most JSON values in one step (its event, transitions, actions, value and context together), or in the initial snapshot. */
export const MAX_STEP_VALUES = 16_384

/** Refuses a field: `path` must be `expected`, and what it was. */
export type Refuse = (path: string, expected: string, got: unknown) => never

/** Values left to one step, and the step's path for the message when they run out. */
export interface Budget {
  values: number
  readonly path: string
}

export const newBudget = (path: string): Budget => ({ values: MAX_STEP_VALUES, path })

interface Frame {
  value: unknown
  depth: number
  key: string
  parent: Frame | undefined
}

const LONGEST_PATH = 160

function pathOf(frame: Frame): string {
  const keys: string[] = []
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) keys.push(f.key)
  const path = keys.reverse().join('')
  return path.length > LONGEST_PATH ? `${path.slice(0, LONGEST_PATH - 1)}…` : path
}

/** A member of a value the caller built (a trace object, not parsed text), which may be a throwing getter. */
function member(node: object, key: string, at: Frame, refuse: Refuse): unknown {
  try {
    return (node as Record<string, unknown>)[key]
  } catch {
    return refuse(pathOf(at), 'plain JSON (a member could not be read)', node)
  }
}

/** Throws through `refuse` unless `value` at `path` is JSON within the bounds above; counts its values against `budget`. */
export function checkJson(path: string, value: unknown, budget: Budget, refuse: Refuse): void {
  const stack: Frame[] = [{ value, depth: 0, key: path, parent: undefined }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const node = frame.value
    if (--budget.values < 0) refuse(budget.path, `a step of at most ${MAX_STEP_VALUES} JSON values in all`, 'more')
    if (typeof node === 'string') {
      if (node.length > MAX_TEXT) refuse(pathOf(frame), `a string of at most ${MAX_TEXT} characters`, node)
      continue
    }
    if (typeof node === 'number' || typeof node === 'boolean' || node === null || node === undefined) continue
    if (typeof node !== 'object') refuse(pathOf(frame), 'a JSON value', node)
    if (frame.depth >= MAX_JSON_DEPTH) refuse(pathOf(frame), `JSON at most ${MAX_JSON_DEPTH} deep`, node)
    let keys: string[]
    try {
      keys = Array.isArray(node) ? [] : Object.keys(node)
    } catch {
      refuse(pathOf(frame), 'plain JSON (its keys could not be read)', node)
    }
    const size = Array.isArray(node) ? node.length : keys.length
    if (size > MAX_MEMBERS) refuse(pathOf(frame), `an array or object of at most ${MAX_MEMBERS} members`, node)
    const depth = frame.depth + 1
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push({ value: member(node, String(i), frame, refuse), depth, key: `[${i}]`, parent: frame })
      continue
    }
    for (const key of keys) {
      if (key.length > MAX_TEXT) refuse(pathOf(frame), `an object with keys of at most ${MAX_TEXT} characters`, node)
      stack.push({ value: member(node, key, frame, refuse), depth, key: `.${key.slice(0, 40)}`, parent: frame })
    }
  }
}
