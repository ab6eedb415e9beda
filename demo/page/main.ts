/**
 * The demo page: one lifeline connection to the demo server, its statechart
 * drawn live, its pending timers, a timeline, a message log and an offline
 * inspector. Settings come from the form (or the query string, for tests).
 */
import type { InspectionEvent } from 'xstate'
import { createConnection, type Connection, type ConnectionStateName } from '../../src/index.js'
import { drawChart, type Chart } from './chart.js'
import { describeTimer, TimerWatch } from './timers.js'

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T
const name = `demo-${Math.random().toString(36).slice(2, 7)}`
const query = new URLSearchParams(location.search)

interface Settings {
  interval: number
  timeout: number
  probeTimeout: number
  initialDelay: number
  maxDelay: number
  proof: 'any' | 'pong'
}

const settings: Settings = {
  interval: Number(query.get('interval') ?? 3000),
  timeout: Number(query.get('timeout') ?? 3000),
  probeTimeout: Number(query.get('probeTimeout') ?? 1500),
  initialDelay: Number(query.get('initialDelay') ?? 1000),
  maxDelay: Number(query.get('maxDelay') ?? 8000),
  proof: query.get('proof') === 'pong' ? 'pong' : 'any',
}

/** What the page went through, for tests and for curious readers of the console. */
interface Moment {
  at: number
  state: ConnectionStateName
  heartbeat: string
  buttons: { connect: boolean; send: boolean; close: boolean }
}
const history: Moment[] = []
;(window as unknown as { lifelineDemo: unknown }).lifelineDemo = { history, connection: () => conn, name }

function record(): void {
  const enabled = (id: string) => !$<HTMLButtonElement>(id).disabled
  const moment: Moment = {
    at: performance.now(),
    state: (document.body.dataset.state ?? 'idle') as ConnectionStateName,
    heartbeat: document.body.dataset.heartbeat ?? '',
    buttons: { connect: enabled('#connect'), send: enabled('#send'), close: enabled('#close') },
  }
  const last = history.at(-1)
  if (last?.state !== moment.state || last.heartbeat !== moment.heartbeat) history.push(moment)
}

const timers = new TimerWatch()
let chart: Chart | undefined
let conn: Connection | undefined
let nextAttempt = 1
const started = performance.now()

// ---- logs -----------------------------------------------------------------

function stamp(): string {
  return `${((performance.now() - started) / 1000).toFixed(2).padStart(7)} s`
}

function append(list: HTMLElement, text: string, kind: string, limit = 300): void {
  const item = document.createElement('li')
  item.className = kind
  const time = document.createElement('time')
  time.textContent = stamp()
  const body = document.createElement('span')
  body.textContent = text
  item.append(time, body)
  list.prepend(item)
  while (list.childElementCount > limit) list.lastElementChild?.remove()
}

const timeline = (text: string, kind: string) => append($('#timeline'), text, kind)
const messages = (text: string, kind: string) => append($('#messages'), text, kind, 100)

// ---- inspector --------------------------------------------------------------

function stateIds(value: unknown, prefix = 'connection'): string[] {
  if (typeof value === 'string') return [`${prefix}.${value}`]
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => [`${prefix}.${key}`, ...stateIds(child, `${prefix}.${key}`)])
}

function showSnapshot(snapshot: { value: unknown; context: Record<string, unknown> }): void {
  const { adapter: _adapter, ...context } = snapshot.context
  $('#snapshot').textContent = JSON.stringify({ value: snapshot.value, context }, null, 2)
}

function inspect(event: InspectionEvent): void {
  timers.observe(event)
  if (event.type === '@xstate.microstep' && event.actorRef === conn?.actor) {
    for (const transition of event._transitions) {
      for (const target of transition.target ?? []) chart?.flash(transition.source.id, target.id)
    }
  }
  if (event.type === '@xstate.event' && event.actorRef === conn?.actor && !event.event.type.startsWith('xstate.init')) {
    append($('#inspector'), event.event.type, 'event', 200)
  }
  if (event.type === '@xstate.snapshot' && event.actorRef === conn?.actor) {
    const snapshot = event.snapshot as unknown as { value: unknown; context: Record<string, unknown> }
    showSnapshot(snapshot)
    chart?.setActive(stateIds(snapshot.value))
    const value = snapshot.value
    document.body.dataset.heartbeat = typeof value === 'object' && value !== null ? String((value as { open?: string }).open) : ''
    record()
  }
}

// ---- connection -------------------------------------------------------------

function render(state: ConnectionStateName): void {
  document.body.dataset.state = state
  $('#state').textContent = state
  $<HTMLButtonElement>('#connect').disabled = !(state === 'idle' || state === 'failed')
  $<HTMLButtonElement>('#send').disabled = state !== 'open'
  $<HTMLButtonElement>('#close').disabled = state === 'idle' || state === 'closing'
  for (const id of ['#fault-mute', '#fault-reset', '#fault-blackhole']) $<HTMLButtonElement>(id).disabled = state !== 'open'
  if (state !== 'open') document.body.dataset.heartbeat = ''
  record()
}

function connect(): void {
  conn?.dispose()
  timers.clear()
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  conn = createConnection({
    url: `${scheme}://${location.host}/ws?name=${name}`,
    heartbeat: { interval: settings.interval, timeout: settings.timeout, probeTimeout: settings.probeTimeout, proof: settings.proof },
    reconnect: { initialDelay: settings.initialDelay, maxDelay: settings.maxDelay },
    autoConnect: false,
    inspect,
  })
  conn.on('state', ({ state, previous, reason }) => {
    render(state)
    timeline(`${previous} → ${state} (${reason})`, `state ${state}`)
  })
  conn.on('open', ({ url }) => timeline(`open ${url}`, 'open'))
  conn.on('close', ({ code, reason, wasClean }) => timeline(`close ${code}${reason ? ` ${reason}` : ''}${wasClean ? '' : ' (not clean)'}`, 'close'))
  conn.on('error', (error) => timeline(`error: ${error.message}`, 'error'))
  conn.on('heartbeat', (beat) => {
    if (beat.type === 'ping') timeline('ping sent', 'ping')
    else if (beat.type === 'probe') timeline('probe sent: trust nothing after a pause', 'ping')
    else if (beat.type === 'proof') timeline(`proof of life, round trip ${beat.roundTrip.toFixed(1)} ms`, 'proof')
    else timeline('heartbeat timeout: link declared dead', 'timeout')
  })
  conn.on('reconnect', ({ attempt, delay }) => {
    nextAttempt = attempt
    timeline(`reconnect attempt ${attempt} scheduled in ${(delay / 1000).toFixed(2)} s`, 'reconnect')
  })
  conn.on('failed', ({ reason, attempts }) => timeline(`failed after ${attempts} attempt(s): ${reason}`, 'failed'))
  conn.on('message', (data) => messages(typeof data === 'string' ? data : `[${(data as ArrayBuffer).byteLength} bytes]`, 'in'))
  render(conn.state)
  showSnapshot(conn.actor.getSnapshot())
  conn.open()
}

async function fault(kind: string): Promise<void> {
  timeline(`fault: ${kind}`, 'fault')
  const response = await fetch('/api/fault', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, kind }) })
  if (!response.ok) timeline(`fault ${kind} refused: ${await response.text()}`, 'error')
}

// ---- wiring -----------------------------------------------------------------

function readSettings(): void {
  const form = $<HTMLFormElement>('#settings')
  const number = (field: string) => Number((form.elements.namedItem(field) as HTMLInputElement).value)
  settings.interval = number('interval')
  settings.timeout = number('timeout')
  settings.probeTimeout = number('probeTimeout')
  settings.initialDelay = number('initialDelay')
  settings.maxDelay = number('maxDelay')
  settings.proof = (form.elements.namedItem('proof') as HTMLSelectElement).value === 'pong' ? 'pong' : 'any'
}

function writeSettings(): void {
  const form = $<HTMLFormElement>('#settings')
  for (const [key, value] of Object.entries(settings)) (form.elements.namedItem(key) as HTMLInputElement).value = String(value)
}

function tick(): void {
  const now = performance.now()
  const pending = timers.pending().map((t) => describeTimer(t, now, nextAttempt))
  $('#timers').textContent = pending.length > 0 ? pending.join(' · ') : 'no timer pending'
}

async function main(): Promise<void> {
  $('#client-name').textContent = name
  writeSettings()
  $('#connect').addEventListener('click', () => conn?.open())
  $('#close').addEventListener('click', () => conn?.close(1000, 'close button'))
  $('#send-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const input = $<HTMLInputElement>('#message')
    if (!conn || input.value === '') return
    conn.send(input.value)
    messages(input.value, 'out')
    input.value = ''
  })
  $('#settings').addEventListener('submit', (event) => {
    event.preventDefault()
    try {
      readSettings()
      connect()
      timeline('settings applied: new connection', 'fault')
    } catch (error) {
      timeline(`settings rejected: ${(error as Error).message}`, 'error')
    }
  })
  for (const [id, kind] of [['#fault-mute', 'mute'], ['#fault-reset', 'reset'], ['#fault-blackhole', 'blackhole'], ['#fault-restart', 'restart']] as const) {
    $(id).addEventListener('click', () => void fault(kind))
  }
  document.addEventListener('visibilitychange', () => timeline(`page ${document.visibilityState}`, 'network'))
  document.addEventListener('freeze', () => timeline('page frozen', 'network'))
  document.addEventListener('resume', () => timeline('page resumed', 'network'))
  window.addEventListener('online', () => timeline('browser: online', 'network'))
  window.addEventListener('offline', () => timeline('browser: offline', 'network'))
  setInterval(tick, 100)
  connect()
  chart = await drawChart($('#chart'))
  chart.setActive(stateIds(conn!.actor.getSnapshot().value))
  document.body.dataset.ready = 'true'
}

void main()
