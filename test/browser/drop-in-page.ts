// The drop-in conformance page: lifeline's browser build on Chromium's own
// WebSocket, with the shared cases (test/drop-in/cases/) and those only a
// browser can check. test/browser/drop-in.test.ts runs each case by name.
import { ReconnectingWebSocket } from '../../src/index.js'
import { browserCases } from '../drop-in/cases/browser.js'
import { suites } from '../drop-in/cases/index.js'

const all = [...suites.flatMap((s) => s.cases), ...browserCases]

Object.assign(window, {
  runCase: (name: string, server: string, closedPort: number) => {
    const found = all.find((c) => c.name === name)
    if (found === undefined) throw new Error(`no case named ${name}`)
    return found.run({ RWS: ReconnectingWebSocket, server, closedPort, platform: 'browser' })
  },
})
