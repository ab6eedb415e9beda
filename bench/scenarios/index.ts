import type { Scenario } from '../results.js'
import { bundle } from './bundle.js'
import { chaos } from './chaos.js'
import { cycle, herdModel } from './explain.js'
import { cpu } from './cpu.js'
import { detection } from './detection.js'
import { herd } from './herd.js'
import { hotpath } from './hotpath.js'
import { memory } from './memory.js'
import { restart } from './restart.js'
import { slowConsumer } from './slow-consumer.js'

/** In the order of the issue, then the server's slow consumer. */
export const SCENARIOS: readonly Scenario[] = [detection, restart, hotpath, memory, cpu, herd, bundle, slowConsumer]

/** Run only when named: reliable delivery is lifeline's alone, and the rest explain figures of the main run. */
export const ON_DEMAND: readonly Scenario[] = [chaos, cycle, herdModel]
