import type { Scenario } from '../results.js'
import { bundle } from './bundle.js'
import { chaos } from './chaos.js'
import { cluster } from './cluster.js'
import { createCost } from './create-cost.js'
import { cycle, herdModel } from './explain.js'
import { cpu } from './cpu.js'
import { detection } from './detection.js'
import { herd } from './herd.js'
import { hotpath } from './hotpath.js'
import { memory } from './memory.js'
import { restart } from './restart.js'
import { serverScale } from './server-scale.js'
import { slowConsumer } from './slow-consumer.js'

/** In the order of the issue, then the server's slow consumer. */
export const SCENARIOS: readonly Scenario[] = [detection, restart, hotpath, memory, cpu, herd, bundle, slowConsumer]

/**
 * Run only when named: reliable delivery is lifeline's alone, cycle and
 * herd-model explain figures of the main run, create-cost creates 10,000
 * connections three times over (minutes while creation grows with the number
 * live), and cluster needs Debian's redis-server and four more processes.
 */
export const ON_DEMAND: readonly Scenario[] = [chaos, cycle, herdModel, createCost, cluster, serverScale]
