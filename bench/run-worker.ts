// The orchestrator's side of a worker process.
import { WORKER } from './build.js'
import { Child, type Message } from './child.js'
import type { Job } from './scenarios/workers.js'

/**
 * Runs `job` in a fresh worker process (with `--expose-gc`; compiled by
 * buildWorker() in build.ts, which `npm run bench` runs first) and returns its
 * result; the worker is killed if it takes longer than `ms`.
 */
export async function runWorker<R>(job: Job, ms: number): Promise<R> {
  const child = new Child(WORKER, [job.scenario, String((job.params as { peer?: string }).peer ?? '')], ['--expose-gc'])
  try {
    await child.next('ready', 30_000)
    const { result } = await child.request<Message & { result: R }>(job, 'result', ms)
    return result
  } finally {
    child.kill()
  }
}
