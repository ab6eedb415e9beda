/**
 * The package as users get it: built with tsc (test/global-setup.ts), imported through its `exports`
 * map, and bundled for the browser without `ws`.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { measureBundle } from '../bench/scenarios/bundle.js'

const root = new URL('..', import.meta.url).pathname

describe('package', () => {
  it('resolves lifeline and lifeline/machine through the exports map in Node', () => {
    const script = `
      const lifeline = await import('lifeline')
      const machine = await import('lifeline/machine')
      console.log(JSON.stringify({
        createConnection: typeof lifeline.createConnection,
        createManualNetwork: typeof lifeline.createManualNetwork,
        backoffDelay: typeof lifeline.backoffDelay,
        machineId: machine.connectionMachine.id,
      }))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual({ createConnection: 'function', createManualNetwork: 'function', backoffDelay: 'function', machineId: 'connection' })
  })

  it('connects with ws by default in Node 20 through the built package', () => {
    const script = `
      const { createConnection } = await import('lifeline')
      const conn = createConnection({ url: 'ws://127.0.0.1:9/', reconnect: false })
      conn.on('failed', () => { console.log(conn.state); conn.dispose() })`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 10_000 })
    expect(out.trim()).toBe('failed')
  })

  it('builds for the browser without ws', async () => {
    const size = await measureBundle("export * from './src/index.ts'")
    expect(Object.keys(size.byPackage)).toContain('xstate')
    expect(Object.keys(size.byPackage)).not.toContain('ws')
    console.log(`browser bundle: ${size.minified} bytes minified, ${size.gzip} gzip (${Object.entries(size.byPackage).map(([p, b]) => `${p} ${b}`).join(', ')})`)
  })
})
