/**
 * The demo page: one lifeline connection to the demo server, controls and
 * faults, a message log, and the package's own inspector panel
 * (lifeline-ws/inspector) following the connection. Settings come from the
 * form (or the query string, for tests).
 */
import { createConnection, type Connection, type ConnectionStateName } from '../../src/index.js'
import { mountInspector, recordTrace, type MountedInspector } from '../../src/inspector/index.js'

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T
const query = new URLSearchParams(location.search)
// ?share=<name>: every tab with it shares one socket, under the same client name.
const shared = query.get('share')
const name = shared ?? `demo-${Math.random().toString(36).slice(2, 7)}`

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
;(window as unknown as { lifelineDemo: unknown }).lifelineDemo = { history, connection: () => conn, name, recordTrace }

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

let conn: Connection | undefined
let inspector: MountedInspector | undefined
const started = performance.now()

function messages(text: string, kind: string): void {
  const list = $('#messages')
  const item = document.createElement('li')
  item.className = kind
  const time = document.createElement('time')
  time.textContent = `${((performance.now() - started) / 1000).toFixed(2).padStart(7)} s`
  const body = document.createElement('span')
  body.textContent = text
  item.append(time, body)
  list.prepend(item)
  while (list.childElementCount > 100) list.lastElementChild?.remove()
}

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
  inspector?.unmount()
  conn?.dispose()
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  conn = createConnection({
    url: `${scheme}://${location.host}/ws?name=${name}`,
    heartbeat: { interval: settings.interval, timeout: settings.timeout, probeTimeout: settings.probeTimeout, proof: settings.proof },
    reconnect: { initialDelay: settings.initialDelay, maxDelay: settings.maxDelay },
    autoConnect: false,
    ...(shared === null ? {} : { share: shared }),
  })
  const current = conn
  conn.on('share', ({ role, leader }) => {
    const text = role === 'leader' ? 'this tab leads: it holds the socket' : role === 'follower' ? `follows tab ${leader?.slice(-4) ?? '?'}` : 'joining'
    $('#share-role').hidden = false
    $('#share-role').textContent = `shared · ${text}`
    document.body.dataset.share = role
  })
  conn.on('state', ({ state }) => render(state))
  // The heartbeat sub-state, for the history the tests read: from the actor itself.
  conn.actor.subscribe((snapshot: { value: unknown }) => {
    if (current !== conn) return
    const value = snapshot.value
    const heartbeat = typeof value === 'object' && value !== null ? String((value as { open?: string }).open) : ''
    if (document.body.dataset.heartbeat === heartbeat) return
    document.body.dataset.heartbeat = heartbeat
    record()
  })
  conn.on('message', (data) => messages(typeof data === 'string' ? data : `[${(data as ArrayBuffer).byteLength} bytes]`, 'in'))
  inspector = mountInspector(conn, { target: '#inspector', name: `client ${name}` })
  render(conn.state)
  conn.open()
}

async function fault(kind: string): Promise<void> {
  messages(`fault: ${kind}`, 'fault')
  const response = await fetch('/api/fault', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, kind }) })
  if (!response.ok) messages(`fault ${kind} refused: ${await response.text()}`, 'error')
}

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

function main(): void {
  $('#client-name').textContent = name
  writeSettings()
  $('#connect').addEventListener('click', () => conn?.open())
  $('#close').addEventListener('click', () => conn?.close(1000, 'close button'))
  // A second tab with the same share key; this one joins too if it was on its own.
  $('#share').addEventListener('click', () => {
    const url = new URL(location.href)
    url.searchParams.set('share', name)
    window.open(url.href, '_blank')
    if (shared === null) location.assign(url.href)
  })
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
      messages('settings applied: new connection', 'fault')
    } catch (error) {
      messages(`settings rejected: ${(error as Error).message}`, 'error')
    }
  })
  for (const [id, kind] of [['#fault-mute', 'mute'], ['#fault-reset', 'reset'], ['#fault-blackhole', 'blackhole'], ['#fault-restart', 'restart']] as const) {
    $(id).addEventListener('click', () => void fault(kind))
  }
  connect()
  document.body.dataset.ready = 'true'
}

main()
