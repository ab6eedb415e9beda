import { describe, expect, it } from 'vitest'
import { Emitter } from '../src/emitter.js'

type Events = { message: string; error: Error }
const failed = (thrown: unknown): Error => new Error(`listener threw: ${String(thrown)}`)

describe('emitter', () => {
  it('calls every listener in the order they were added, however they were made', () => {
    const emitter = new Emitter<Events>(failed)
    const heard: string[] = []
    const spreadable = Object.assign((data: string) => heard.push(`spreadable ${data}`), { [Symbol.isConcatSpreadable]: true })
    emitter.on('message', (data) => heard.push(`first ${data}`))
    emitter.on('message', spreadable)
    emitter.on('message', (data) => heard.push(`last ${data}`))
    emitter.emit('message', 'a')
    expect(heard).toEqual(['first a', 'spreadable a', 'last a'])
  })

  it('lets a listener unsubscribe another during an emit without skipping or repeating one', () => {
    const emitter = new Emitter<Events>(failed)
    const heard: string[] = []
    let offSecond = (): void => {}
    emitter.on('message', () => {
      heard.push('first')
      offSecond()
    })
    offSecond = emitter.on('message', () => heard.push('second'))
    emitter.on('message', () => heard.push('third'))
    emitter.emit('message', 'a')
    emitter.emit('message', 'b')
    expect(heard).toEqual(['first', 'second', 'third', 'first', 'third'])
  })
})
