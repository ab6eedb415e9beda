/**
 * The inspector panel: the statechart with the active state and the last
 * transition highlighted, the pending timers counting down, a scrubber to
 * step through the steps, the timeline and the snapshot. It shows one
 * source at a time (a picker when there are several) and lives in a shadow
 * root on its host element, which carries `data-lifeline-inspector` and
 * `data-state` (the state shown, dotted: `open.waiting`).
 */
import { chartSvg } from './chart-svg.js'
import { chartDifference, chartGraph } from './graph.js'
import { download, h, readTraceFile, stamp } from './dom.js'
import { describeTransition } from '../../machines/labels.js'
import { lineKey, type ChartLayout } from './layout.js'
import { PANEL_STYLE } from './panel-style.js'
import { recordTrace, type Recording } from './recorder.js'
import { traceSource, type PanelSource } from './sources.js'
import { activeIds, contextAt, describeTimer, dotted, latestTimeline, timersAt, valueAt } from './timeline.js'
import { parseTrace, type TraceTransition } from './trace.js'

/** How the panel is placed and what it offers. */
export interface PanelOptions {
  /** A floating, collapsible panel in a corner of the page (else it fills its parent). */
  floating: boolean
  /** The title in the header. */
  title: string
  /** What the panel says while it has nothing to show. */
  empty?: string
}

const TICK = 100
/** Pending timers listed; more are counted in one line (a connection has one or two). */
export const SHOWN_TIMERS = 20
/** Timeline entries listed. */
export const SHOWN_ENTRIES = 300
/** Steps looked back for the last transition taken to highlight. */
const TRANSITION_LOOKBACK = 1_000
// The clock the chart draws for timers (the ⏱ glyph is missing from many fonts).
const CLOCK = '<svg class="clock" viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true"><circle r="4.6"/><path d="M0 -2.6 V0 H2.4"/></svg>'
const RENDER_DELAY = 30

function buildUi(options: PanelOptions) {
  const button = (label: string, title: string, attributes: Record<string, string | boolean> = {}) => h('button', { type: 'button', title, ...attributes }, label)
  return {
    pill: h('span', { class: 'pill', 'data-part': 'state' }, '…'),
    share: h('span', { class: 'share', 'data-part': 'share', hidden: true }),
    picker: h('select', { 'aria-label': 'Connection', hidden: true }),
    record: button('● Record', 'Record a trace of this connection (stop to save it as a file)'),
    load: button('Load trace…', 'Open a trace file (or drop one on the panel)'),
    file: h('input', { type: 'file', accept: '.json,application/json', hidden: true }),
    zoom: button('Fit', 'Show the whole chart (or back to its actual size)', { class: 'zoom', 'aria-pressed': 'false' }),
    expand: button('⤢', 'Expand the panel', { 'aria-pressed': 'false', hidden: !options.floating }),
    collapse: button('–', 'Collapse the panel', { 'aria-pressed': 'false', hidden: !options.floating }),
    chart: h('div', { class: 'chart', 'data-part': 'chart' }),
    timers: h('div', { class: 'timers', id: 'timers', 'data-part': 'timers' }),
    first: button('⇤', 'First step'),
    back: button('◀', 'Step back (←)'),
    range: h('input', { type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'Step' }),
    forward: button('▶', 'Step forward (→)'),
    last: button('⇥', 'Last step (and follow)'),
    live: button('● live', 'Follow the connection as it goes', { 'aria-pressed': 'true' }),
    where: h('span', { class: 'where', 'data-part': 'step' }),
    timeline: h('ol', { class: 'log', id: 'timeline', 'data-part': 'timeline' }),
    snapshot: h('pre', { class: 'snapshot', id: 'snapshot', 'data-part': 'snapshot' }),
    notice: h('p', { class: 'notice', hidden: true, role: 'status' }),
    panel: h('div', { class: 'panel' }),
  }
}

export class Panel {
  readonly host: HTMLElement
  private readonly shadow: ShadowRoot
  private readonly sources: PanelSource[] = []
  private selected: PanelSource | undefined
  private index = -1
  private following = true
  private unsubscribe = (): void => {}
  private readonly ticker: ReturnType<typeof setInterval>
  private renderTimer: ReturnType<typeof setTimeout> | undefined
  private recording: Recording | undefined
  private readonly states = new Map<string, Element>()
  private taken: Element[] = []
  /** What the timers pane shows now, to leave it alone when nothing changed. */
  private timersShown = ''
  private readonly ui: ReturnType<typeof buildUi>


  constructor(parent: Element, private readonly layout: ChartLayout, private readonly options: PanelOptions) {
    this.host = h('div', { 'data-lifeline-inspector': true, 'data-state': '', 'data-floating': options.floating })
    this.shadow = this.host.attachShadow({ mode: 'open' })
    this.ui = buildUi(options)
    const u = this.ui
    u.chart.innerHTML = chartSvg(layout, { style: false })
    for (const g of u.chart.querySelectorAll('.lc-state')) this.states.set(g.getAttribute('data-id') ?? '', g)
    u.panel.append(
      h('header', {}, h('span', { class: 'title' }, h('b', {}, '◉ '), options.title), u.pill, u.share, h('span', { class: 'spacer' }), u.picker, u.record, u.load, u.file, u.expand, u.collapse),
      h('div', { class: 'body' },
        u.notice,
        h('div', { class: 'chart-frame' }, u.chart, u.zoom),
        u.timers,
        h('div', { class: 'scrubber' }, u.first, u.back, u.range, u.forward, u.last, u.live, u.where),
        h('div', { class: 'columns' },
          h('section', {}, h('h3', {}, 'Timeline'), u.timeline),
          h('section', {}, h('h3', {}, 'Snapshot'), u.snapshot)),
      ),
    )
    this.shadow.append(h('style', {}, PANEL_STYLE), u.panel)
    this.wire()
    parent.append(this.host)
    // A corner is too small for the whole chart: at actual size it follows the active state.
    this.zoom(options.floating)
    this.clear()
    this.ticker = setInterval(() => this.tick(), TICK)
  }

  /** Adds a source to the picker; shows it when `select`. */
  add(source: PanelSource, select = true): void {
    this.sources.push(source)
    this.ui.picker.append(h('option', { value: source.id }, source.name))
    this.ui.picker.hidden = this.sources.length < 2
    if (select || this.selected === undefined) this.select(source)
  }

  /** Removes a source (its connection went away); shows another if it was shown. */
  remove(source: PanelSource): void {
    const i = this.sources.indexOf(source)
    if (i === -1) return
    this.sources.splice(i, 1)
    this.ui.picker.querySelector(`option[value="${CSS.escape(source.id)}"]`)?.remove()
    this.ui.picker.hidden = this.sources.length < 2
    source.close()
    if (this.selected === source) {
      this.selected = undefined
      const next = this.sources[0]
      if (next === undefined) this.clear()
      else this.select(next)
    }
  }

  /** The source shown. */
  get current(): PanelSource | undefined {
    return this.selected
  }

  select(source: PanelSource): void {
    this.unsubscribe()
    this.selected = source
    this.ui.picker.value = source.id
    this.following = source.kind !== 'trace'
    this.index = this.following ? source.trace.steps.length - 1 : -1
    this.unsubscribe = source.subscribe(() => this.changed())
    this.ui.record.hidden = source.kind !== 'live'
    this.ui.live.hidden = source.kind === 'trace'
    this.checkChart(source)
    this.render()
  }

  unmount(): void {
    clearInterval(this.ticker)
    clearTimeout(this.renderTimer)
    this.unsubscribe()
    this.recording?.stop()
    for (const source of this.sources.splice(0)) source.close()
    this.host.remove()
  }

  private wire(): void {
    const u = this.ui
    u.picker.addEventListener('change', () => {
      const source = this.sources.find((s) => s.id === u.picker.value)
      if (source !== undefined) this.select(source)
    })
    u.first.addEventListener('click', () => this.go(-1))
    u.back.addEventListener('click', () => this.go(this.index - 1))
    u.forward.addEventListener('click', () => this.go(this.index + 1))
    u.last.addEventListener('click', () => this.go(Number.POSITIVE_INFINITY))
    u.range.addEventListener('input', () => this.go(Number(u.range.value) - 1))
    u.live.addEventListener('click', () => {
      this.following = !this.following
      if (this.following) this.index = (this.selected?.trace.steps.length ?? 0) - 1
      this.render()
    })
    u.timeline.addEventListener('click', (event) => {
      const item = (event.target as Element).closest('li')
      if (item?.dataset.step !== undefined) this.go(Number(item.dataset.step))
    })
    u.panel.addEventListener('keydown', (event) => {
      if ((event.target as Element).closest('select, input[type=file]')) return
      if (event.key === 'ArrowLeft') this.go(this.index - 1)
      else if (event.key === 'ArrowRight') this.go(this.index + 1)
      else return
      event.preventDefault()
    })
    u.zoom.addEventListener('click', () => this.zoom(!u.chart.classList.contains('actual')))
    u.expand.addEventListener('click', () => this.toggle('data-expanded', u.expand))
    u.collapse.addEventListener('click', () => this.toggle('data-collapsed', u.collapse))
    u.record.addEventListener('click', () => this.toggleRecording())
    u.load.addEventListener('click', () => u.file.click())
    u.file.addEventListener('change', () => {
      const file = u.file.files?.[0]
      if (file !== undefined) void this.loadFile(file)
      u.file.value = ''
    })
    u.panel.addEventListener('dragover', (event) => {
      event.preventDefault()
      u.panel.classList.add('drop')
    })
    u.panel.addEventListener('dragleave', () => u.panel.classList.remove('drop'))
    u.panel.addEventListener('drop', (event) => {
      event.preventDefault()
      u.panel.classList.remove('drop')
      const file = event.dataTransfer?.files[0]
      if (file !== undefined) void this.loadFile(file)
    })
  }

  /** Actual size (scrolled to follow the active state) or the whole chart fitted to the panel. */
  private zoom(actual: boolean): void {
    this.ui.chart.classList.toggle('actual', actual)
    this.ui.zoom.textContent = actual ? 'Fit' : '100%'
    this.ui.zoom.title = actual ? 'Show the whole chart' : 'Show the chart at its actual size, following the active state'
    this.scrollToActive()
  }

  private toggle(attribute: string, button: HTMLButtonElement): void {
    const on = !this.host.hasAttribute(attribute)
    this.host.toggleAttribute(attribute, on)
    button.setAttribute('aria-pressed', String(on))
  }

  private toggleRecording(): void {
    const source = this.selected
    if (this.recording !== undefined) {
      const trace = this.recording.stop()
      this.recording = undefined
      this.ui.record.textContent = '● Record'
      this.ui.record.classList.remove('recording')
      const time = new Date(trace.startedAt).toISOString().replace(/[:.]/g, '-')
      download(`lifeline-trace-${time}.json`, JSON.stringify(trace))
      this.add(traceSource(trace, `recording of ${new Date(trace.startedAt).toLocaleTimeString()} (${trace.steps.length} steps)`), false)
      this.note(`Saved a trace of ${trace.steps.length} steps; it is also in the picker`)
    } else if (source?.connection !== undefined) {
      this.recording = recordTrace(source.connection)
      this.ui.record.textContent = '■ Stop & save'
      this.ui.record.classList.add('recording')
    }
  }

  private async loadFile(file: File): Promise<void> {
    try {
      const trace = parseTrace(await readTraceFile(file))
      this.add(traceSource(trace, `${file.name} (${trace.steps.length} steps)`))
      this.note('')
    } catch (error) {
      this.note(`Could not load ${file.name}: ${(error as Error).message}`)
    }
  }

  private note(text: string): void {
    this.ui.notice.textContent = text
    this.ui.notice.hidden = text === ''
  }

  private checkChart(source: PanelSource): void {
    if (source.machineRoot === undefined) return this.note('')
    const difference = chartDifference(this.layout, chartGraph(source.machineRoot))
    const missing = [...difference.states, ...difference.edges]
    this.note(missing.length === 0 ? '' : `The chart was laid out from another version of the machine (differs in ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? '…' : ''}): run npm run diagram`)
  }

  private go(index: number): void {
    const steps = this.selected?.trace.steps.length ?? 0
    this.index = Math.max(-1, Math.min(steps - 1, index))
    this.following = this.selected?.kind !== 'trace' && index === Number.POSITIVE_INFINITY
    this.render()
  }

  // A new step: the state attribute follows at once, the rest at the next render.
  private changed(): void {
    const source = this.selected
    if (source === undefined) return
    if (this.following) {
      this.index = source.trace.steps.length - 1
      this.host.dataset.state = dotted(valueAt(source.trace, this.index))
    }
    this.renderTimer ??= setTimeout(() => {
      this.renderTimer = undefined
      this.render()
    }, RENDER_DELAY)
  }

  private clear(): void {
    this.host.dataset.state = ''
    this.ui.pill.textContent = 'no connection'
    this.note(this.options.empty ?? '')
    this.ui.timeline.replaceChildren()
    this.ui.snapshot.textContent = ''
    this.ui.where.textContent = ''
    this.ui.timers.textContent = ''
    this.timersShown = ''
  }

  private render(): void {
    const source = this.selected
    if (source === undefined) return this.clear()
    const { trace } = source
    const steps = trace.steps.length
    if (this.following) this.index = steps - 1
    this.index = Math.min(this.index, steps - 1)
    const value = valueAt(trace, this.index)
    const state = dotted(value)
    this.host.dataset.state = state
    this.host.dataset.step = String(this.index)
    this.host.dataset.mode = source.kind
    this.ui.pill.textContent = source.status() === 'running' || source.status() === 'recorded' ? state : `${state} (${source.status()})`
    this.ui.pill.dataset.top = state.split('.')[0] ?? ''
    this.highlight(trace.machine, value)
    this.ui.range.max = String(steps)
    this.ui.range.value = String(this.index + 1)
    this.ui.live.setAttribute('aria-pressed', String(this.following))
    const at = this.index < 0 ? 0 : trace.steps[this.index]!.at
    const event = this.index < 0 ? (trace.dropped > 0 ? `start (${trace.dropped} earlier steps dropped)` : 'start') : trace.steps[this.index]!.event.type
    this.ui.where.textContent = `step ${this.index + 1}/${steps} · ${stamp(at).trim()} · ${event}`
    this.ui.first.disabled = this.ui.back.disabled = this.index < 0
    this.ui.forward.disabled = this.ui.last.disabled = this.index >= steps - 1
    this.renderTimeline()
    this.ui.snapshot.textContent = snapshotText(value, contextAt(trace, this.index))
    this.tick()
  }

  private renderTimeline(): void {
    const trace = this.selected!.trace
    const entries = latestTimeline(trace, SHOWN_ENTRIES)
    const items = [...entries].reverse().map((entry) => h('li', {
      class: `${entry.kind}${entry.step === this.index ? ' current' : ''}${entry.step > this.index ? ' future' : ''}`,
      'data-step': entry.step,
    }, h('time', {}, stamp(entry.at)), h('span', {}, entry.text)))
    this.ui.timeline.replaceChildren(...items)
  }

  private highlight(machine: string, value: Parameters<typeof activeIds>[1]): void {
    const active = new Set(activeIds(machine, value))
    for (const [id, g] of this.states) g.classList.toggle('lc-active', active.has(id))
    const unknown = [...active].filter((id) => !this.states.has(id))
    if (unknown.length > 0) this.note(`State ${unknown.join(', ')} is not in this chart: it was laid out from another version of the machine`)
    for (const element of this.taken) element.classList.remove('lc-taken', 'lc-line-taken')
    this.taken = []
    const steps = this.selected!.trace.steps
    let transitions: TraceTransition[] = []
    for (let i = this.index; i >= 0 && i > this.index - TRANSITION_LOOKBACK && transitions.length === 0; i--) transitions = steps[i]!.transitions
    for (const t of transitions) {
      const id = CSS.escape(`${t.source}->${t.target}`)
      const edge = this.ui.chart.querySelector(`.lc-edge[data-id="${id}"]`)
      const label = this.ui.chart.querySelector(`.lc-label[data-edge="${id}"]`)
      // The trace names the event; an unguarded fallback is drawn [else].
      const key = `.lc-line[data-key="${CSS.escape(lineKey(describeTransition(t.event, undefined)))}"]`
      const line = t.guard === undefined
        ? label?.querySelector(`${key}:not([data-guard])`) ?? label?.querySelector(`${key}[data-guard="else"]`)
        : label?.querySelector(`${key}[data-guard="${CSS.escape(t.guard)}"]`)
      for (const element of [edge, label]) if (element) element.classList.add('lc-taken')
      if (line) line.classList.add('lc-line-taken')
      this.taken.push(...[edge, label, line].filter((e): e is Element => e !== null && e !== undefined))
    }
    this.scrollToActive()
  }

  // Scrolls the chart (at actual size) so the active state is in the middle; never the page.
  private scrollToActive(): void {
    const chart = this.ui.chart
    if (!chart.classList.contains('actual')) return
    const leaf = this.layout.states.find((s) => !s.compound && this.states.get(s.id)?.classList.contains('lc-active'))
    if (leaf === undefined) return
    chart.scrollTo({ left: leaf.x + leaf.width / 2 - chart.clientWidth / 2, top: leaf.y + leaf.height / 2 - chart.clientHeight / 2, behavior: 'auto' })
  }

  // A shared connection: which tab leads (short ids; the whole ones in the title).
  private showShare(source: PanelSource): void {
    const share = source.share?.()
    const badge = this.ui.share
    badge.hidden = share === undefined
    if (share === undefined) return void delete this.host.dataset.share
    const short = (id: string | undefined) => (id === undefined ? '?' : id.slice(-4))
    const text = share.role === 'leader' ? `leader · this tab ${short(share.member)}` : share.role === 'follower' ? `follower · leader tab ${short(share.leader)}` : 'joining the shared connection'
    if (badge.textContent !== text) {
      badge.textContent = text
      badge.title = `This tab: ${share.member || '?'}; leading tab: ${share.leader ?? 'none yet'}`
      badge.dataset.role = share.role
    }
    this.host.dataset.share = share.role
  }

  // The countdowns: at the step shown, in the time of that step (or now, when following a running source).
  private tick(): void {
    const source = this.selected
    if (source === undefined) return
    this.showShare(source)
    const live = this.following ? source.now() : undefined
    const now = live ?? (this.index < 0 ? 0 : source.trace.steps[this.index]!.at)
    const timers = timersAt(source.trace, this.index)
    const shown = timers.slice(0, SHOWN_TIMERS)
    const text = timers.length === 0 ? ['no timer pending'] : shown.map((t) => describeTimer(t, now))
    const more = timers.length - shown.length
    const key = `${text.join('')}${more}`
    if (this.timersShown === key) return
    this.timersShown = key
    const item = (t: string) => {
      const li = h('li', {}, t)
      if (timers.length > 0) li.insertAdjacentHTML('afterbegin', CLOCK)
      return li
    }
    const items = text.map(item)
    if (more > 0) items.push(h('li', { class: 'more' }, `and ${more} more`))
    this.ui.timers.replaceChildren(h('ul', {}, ...items))
  }
}

/** The snapshot pane's text; a context the page cannot print is said so rather than leaving the previous step's. */
function snapshotText(value: unknown, context: unknown): string {
  try {
    return JSON.stringify({ value, context }, null, 2)
  } catch (error) {
    return `(this snapshot cannot be shown: ${error instanceof Error ? error.message : 'unknown error'})`
  }
}
