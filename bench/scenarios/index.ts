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
import { openCost } from './open-cost.js'
import { restart } from './restart.js'
import { serverScale } from './server-scale.js'
import { slowConsumer } from './slow-consumer.js'

/**
 * In the order of the design's bars, then the server's slow consumer, then
 * the rest of the cost targets (creating and opening at scale, the heartbeat
 * cycle's machinery, the server at 10,000 clients).
 */
export const SCENARIOS: readonly Scenario[] = [detection, restart, hotpath, memory, cpu, herd, bundle, slowConsumer, createCost, openCost, cycle, serverScale]

/**
 * Run only when named: reliable delivery is lifeline's alone, herd-model
 * explains a figure of the main run, and cluster needs Debian's
 * redis-server and four more processes.
 */
export const ON_DEMAND: readonly Scenario[] = [chaos, herdModel, cluster]
