/**
 * A follower's view of the leader's statechart: an XState actor with the
 * connection machine's own states (the same ids, the same nesting), whose
 * only transitions are the ones the leader took. Each step the leader
 * reports (its event, the transitions it took, the snapshot after) is sent
 * to the mirror as that same event; every state node listens to any event
 * and moves to a target only if the leader moved from that node to it. So
 * the inspector attached to a follower draws the leader's transitions, on
 * the same chart, from the same events; and the context is the leader's.
 * No timer runs here: they run in the leading tab.
 */
import { assign, createActor, enqueueActions, setup, type Actor, type AnyStateMachine } from 'xstate'
import { connectionMachine } from '../../machines/connection.machine.js'
import type { JsonObject, StateValue, Step, StepAction } from './protocol.js'

interface NodeLike {
  id: string
  states: Record<string, NodeLike>
  config: { initial?: unknown }
}

/** What the mirror's guards and actions read: the step being applied. Lives in the context, as the adapter does in the live machine. */
class MirrorHandle {
  transitions: readonly (readonly [string, string])[] = []
  actions: readonly StepAction[] = []
  context: JsonObject = {}

  toJSON(): string {
    return '[lifeline shared mirror]'
  }
}

type MirrorContext = { [key: string]: unknown; adapter: MirrorHandle }

const handleOf = (context: MirrorContext): MirrorHandle => context.adapter

function nodeIds(node: NodeLike, into: string[] = []): string[] {
  for (const child of Object.values(node.states)) {
    into.push(child.id)
    nodeIds(child, into)
  }
  return into
}

function mirrorNode(node: NodeLike, ids: readonly string[]): Record<string, unknown> {
  const children = Object.entries(node.states)
  return {
    ...(children.length === 0 ? {} : { initial: node.config.initial, states: Object.fromEntries(children.map(([key, child]) => [key, mirrorNode(child, ids)])) }),
    on: {
      '*': ids.map((target) => ({ guard: { type: 'took', params: { source: node.id, target } }, target: `#${target}`, reenter: true, actions: ['adopt', 'replay'] })),
    },
  }
}

function buildMirrorMachine() {
  const root = (connectionMachine as unknown as { root: NodeLike }).root
  const ids = nodeIds(root)
  const tree = mirrorNode(root, ids)
  // A step that changed no state (an error, say) still brings the leader's context.
  const rootOn = { '*': [...(tree.on as { '*': unknown[] })['*'], { actions: ['adopt', 'replay'] }] }
  // The chart's own actions, doing nothing here: replayed by name, so the inspector's timeline reads the leader's pings and retries.
  const names = Object.keys((connectionMachine as unknown as { implementations: { actions: object } }).implementations.actions)
  const known = new Set(names)
  return {
    ids: new Set(ids),
    machine: setup({
      types: { context: {} as MirrorContext, input: {} as MirrorContext },
      guards: {
        took: ({ context }, params: { source: string; target: string }) =>
          handleOf(context).transitions.some(([source, target]) => source === params.source && target === params.target),
      },
      actions: {
        ...Object.fromEntries(names.map((name) => [name, () => {}])),
        adopt: assign(({ context }) => ({ ...handleOf(context).context, adapter: handleOf(context) })),
        replay: enqueueActions(({ context, enqueue }) => {
          const handle = handleOf(context as MirrorContext)
          for (const action of handle.actions) if (known.has(action.type)) enqueue(action as never)
          handle.actions = [] // once per step, whatever the number of transitions
        }),
      },
    }).createMachine({ ...tree, id: root.id, context: ({ input }: { input: MirrorContext }) => input, on: rootOn } as never) as unknown as AnyStateMachine,
  }
}

let built: ReturnType<typeof buildMirrorMachine> | undefined

/** The state node id a value stands for: `{ open: 'waiting' }` is `connection.open.waiting`. */
export function nodeIdOf(value: StateValue): string {
  let id = 'connection'
  let at: StateValue = value
  for (let depth = 0; depth < 4; depth++) {
    if (typeof at === 'string') return `${id}.${at}`
    const [key, child] = Object.entries(at)[0] ?? ['', '']
    id = `${id}.${key}`
    at = child
  }
  return id
}

/** The leader's statechart, as this tab sees it. */
export class Mirror {
  readonly actor: Actor<AnyStateMachine>
  private readonly handle = new MirrorHandle()
  private readonly ids: ReadonlySet<string>

  constructor(context: JsonObject) {
    built ??= buildMirrorMachine()
    this.ids = built.ids
    this.handle.context = context
    this.actor = createActor(built.machine, { input: { ...context, adapter: this.handle } }).start()
  }

  /** Whether `value` is a state of the chart. */
  knows(value: StateValue): boolean {
    return this.ids.has(nodeIdOf(value))
  }

  /** Takes the step the leader took; a mirror that had drifted (a step missed) is brought to the leader's state. */
  apply(step: Step): void {
    this.handle.transitions = step.transitions.filter(([source, target]) => this.ids.has(source) && this.ids.has(target))
    this.handle.actions = step.actions
    this.handle.context = step.context
    this.actor.send(step.event)
    this.handle.transitions = []
    this.handle.actions = []
    if (nodeIdOf(this.actor.getSnapshot().value as StateValue) !== nodeIdOf(step.value)) this.sync(step.value, step.context)
  }

  /** Moves to the leader's state in one step (`share.sync`): a tab that joins, or a new leader. */
  sync(value: StateValue, context: JsonObject): void {
    const target = nodeIdOf(value)
    if (!this.ids.has(target)) return
    const current = nodeIdOf(this.actor.getSnapshot().value as StateValue)
    this.handle.transitions = current === target ? [] : [[current, target]]
    this.handle.context = context
    this.actor.send({ type: 'share.sync' })
    this.handle.transitions = []
  }

  stop(): void {
    this.actor.stop()
  }
}
