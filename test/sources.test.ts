import { describe, expect, it } from 'vitest'
import { browserEnvironment, browserNetwork } from '../src/index.node.js'

// EventTargets stand in for window and document; the sources only add and remove listeners.
type Globals = Parameters<typeof browserNetwork>[0] & Parameters<typeof browserEnvironment>[0]
const target = <T extends object>(props: T): EventTarget & T => Object.assign(new EventTarget(), props)

describe('browser sources', () => {
  it('reads navigator.onLine and the window online/offline events', () => {
    const window = target({ navigator: { onLine: false } })
    const network = browserNetwork(window as unknown as Globals)!
    expect(network.isOnline()).toBe(false)
    const seen: boolean[] = []
    const stop = network.subscribe((online) => seen.push(online))
    window.dispatchEvent(new Event('online'))
    window.dispatchEvent(new Event('offline'))
    stop()
    window.dispatchEvent(new Event('online'))
    expect(seen).toEqual([true, false])
  })

  it('reads visibility, pageshow from the back/forward cache and resume', () => {
    const document = target({ visibilityState: 'visible' })
    const window = target({ document })
    const environment = browserEnvironment(window as unknown as Globals)!
    const seen: string[] = []
    const stop = environment.subscribe((signal) => seen.push(signal))
    document.visibilityState = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
    expect(environment.isVisible()).toBe(false)
    document.visibilityState = 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }))
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
    document.dispatchEvent(new Event('resume'))
    stop()
    document.dispatchEvent(new Event('resume'))
    expect(seen).toEqual(['hidden', 'visible', 'wake', 'wake'])
  })

  it('are absent in Node', () => {
    expect(browserNetwork()).toBeUndefined()
    expect(browserEnvironment()).toBeUndefined()
  })
})
