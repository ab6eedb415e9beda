/** Every conformance case, in the order the tests run them. */
import { closeCases } from './close.js'
import { interfaceCases } from './interface.js'
import { reconnectCases } from './reconnect.js'
import type { Case } from './record.js'
import { sendCases } from './send.js'

export { expectedIn, SAME_AS_REFERENCE, type Case, type CaseContext } from './record.js'

export const suites: { title: string; cases: Case[] }[] = [
  { title: 'interface', cases: interfaceCases },
  { title: 'close', cases: closeCases },
  { title: 'send', cases: sendCases },
  { title: 'reconnection', cases: reconnectCases },
]
