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
  /** Its index in an array, its key in an object, or the field's path for the first. */
  name: string | number
  parent: Frame | undefined
}

const LONGEST_PATH = 160

function pathOf(frame: Frame): string {
  const keys: string[] = []
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) {
    keys.push(f.parent === undefined ? String(f.name) : typeof f.name === 'number' ? `[${f.name}]` : `.${f.name.slice(0, 40)}`)
  }
  const path = keys.reverse().join('')
  return path.length > LONGEST_PATH ? `${path.slice(0, LONGEST_PATH - 1)}…` : path
}

/** A member of a value the caller built (a trace object, not parsed text), which may be a throwing getter. */
function member(node: object, key: string | number, at: Frame, refuse: Refuse): unknown {
  try {
    return (node as Record<string | number, unknown>)[key]
  } catch {
    return refuse(pathOf(at), 'plain JSON (a member could not be read)', node)
  }
}

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null

/** What a value that holds no other should have been, or undefined when it is fine. */
function leafProblem(node: unknown): string | undefined {
  if (typeof node === 'number' || typeof node === 'boolean' || node === null || node === undefined) return undefined
  if (typeof node !== 'string') return 'a JSON value'
  return node.length > MAX_TEXT ? `a string of at most ${MAX_TEXT} characters` : undefined
}

const spend = (budget: Budget, refuse: Refuse): void => {
  if (--budget.values < 0) refuse(budget.path, `a step of at most ${MAX_STEP_VALUES} JSON values in all`, 'more')
}

/** Throws through `refuse` unless `value` at `path` is JSON within the bounds above; counts its values against `budget`. */
export function checkJson(path: string, value: unknown, budget: Budget, refuse: Refuse): void {
  if (!isContainer(value)) {
    spend(budget, refuse)
    const problem = leafProblem(value)
    return problem === undefined ? undefined : refuse(path, problem, value)
  }
  const stack: Frame[] = [{ value, depth: 0, name: path, parent: undefined }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const node = frame.value as object
    spend(budget, refuse)
    if (frame.depth >= MAX_JSON_DEPTH) refuse(pathOf(frame), `JSON at most ${MAX_JSON_DEPTH} deep`, node)
    let keys: string[] | undefined
    try {
      keys = Array.isArray(node) ? undefined : Object.keys(node)
    } catch {
      refuse(pathOf(frame), 'plain JSON (its keys could not be read)', node)
    }
    const size = keys === undefined ? (node as unknown[]).length : keys.length
    if (size > MAX_MEMBERS) refuse(pathOf(frame), `an array or object of at most ${MAX_MEMBERS} members`, node)
    const depth = frame.depth + 1
    for (let i = 0; i < size; i++) {
      if (keys !== undefined && keys[i]!.length > MAX_TEXT) refuse(pathOf(frame), `an object with keys of at most ${MAX_TEXT} characters`, node)
      const name = keys === undefined ? i : keys[i]!
      const child = member(node, name, frame, refuse)
      if (isContainer(child)) stack.push({ value: child, depth, name, parent: frame })
      else {
        spend(budget, refuse)
        const problem = leafProblem(child)
        if (problem !== undefined) refuse(pathOf({ value: child, depth, name, parent: frame }), problem, child)
      }
    }
  }
}
