// Every job a worker process can run, by scenario name.
import { cpuWorker, type CpuParams } from './cpu.js'
import { createCostWorker, type CreateCostParams } from './create-cost.js'
import { detectionWorker, type DetectionParams } from './detection.js'
import { herdWorker, type HerdParams } from './herd.js'
import { hotpathWorker, type HotpathParams } from './hotpath.js'
import { chartMemoryWorker, memoryWorker, type MemoryParams } from './memory.js'
import { openCostWorker, type OpenCostParams } from './open-cost.js'
import { restartWorker, type RestartParams } from './restart.js'
import { slowConsumerWorker, type SlowConsumerParams } from './slow-consumer.js'

export type Job =
  | { scenario: 'detection'; params: DetectionParams }
  | { scenario: 'restart'; params: RestartParams }
  | { scenario: 'hotpath'; params: HotpathParams }
  | { scenario: 'memory'; params: MemoryParams }
  | { scenario: 'chart-memory'; params: { connections: number } }
  | { scenario: 'cpu'; params: CpuParams }
  | { scenario: 'herd'; params: HerdParams }
  | { scenario: 'slow-consumer'; params: SlowConsumerParams }
  | { scenario: 'create-cost'; params: CreateCostParams }
  | { scenario: 'open-cost'; params: OpenCostParams }

export function runJob(job: Job): Promise<unknown> {
  switch (job.scenario) {
    case 'detection': return detectionWorker(job.params)
    case 'restart': return restartWorker(job.params)
    case 'hotpath': return hotpathWorker(job.params)
    case 'memory': return memoryWorker(job.params)
    case 'chart-memory': return chartMemoryWorker(job.params)
    case 'cpu': return cpuWorker(job.params)
    case 'herd': return herdWorker(job.params)
    case 'slow-consumer': return slowConsumerWorker(job.params)
    case 'create-cost': return createCostWorker(job.params)
    case 'open-cost': return openCostWorker(job.params)
  }
}
