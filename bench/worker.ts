// A measured client in its own process (fresh heap, its own CPU account):
// receives one job over IPC, runs it, replies with the result, exits.
import { dieWithParent, reply } from './child.js'
import { runJob, type Job } from './scenarios/workers.js'

dieWithParent()
process.once('message', (job: Job) => {
  runJob(job).then(
    (result) => process.send?.({ ev: 'result', result }, () => process.exit(0)),
    (error: unknown) => process.send?.({ ev: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) }, () => process.exit(1)),
  )
})
reply({ ev: 'ready' })
