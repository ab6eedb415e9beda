/**
 * The drop-in's conformance cases (test/drop-in/cases/) in Node, against the
 * behaviour server on 127.0.0.1, with the Node entry's class (`ws` underneath,
 * binary as ArrayBuffer by default). test/browser/drop-in.test.ts runs the
 * same cases in Chromium on its native WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconnectingWebSocket } from '../../src/index.node.js'
import { startBehaviourServer, type BehaviourServer } from '../helpers/behaviour-server.js'
import { closedPort } from '../helpers/servers.js'
import { expectedIn, suites, type CaseContext } from './cases/index.js'

let server: BehaviourServer
let ctx: CaseContext

beforeAll(async () => {
  server = await startBehaviourServer()
  ctx = { RWS: ReconnectingWebSocket, server: server.ws, closedPort: await closedPort(), platform: 'node' }
})
afterAll(() => server?.close())

for (const { title, cases } of suites) {
  describe(`ReconnectingWebSocket in Node: ${title}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const result = await c.run(ctx)
        expect(result).toEqual(expectedIn(c, ctx, result))
      })
    }
  })
}
