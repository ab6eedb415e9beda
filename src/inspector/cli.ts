#!/usr/bin/env node
/**
 * `npx lifeline-ws inspect [--port 9797] [--host 127.0.0.1]`: serves the
 * inspector page and the relay that Node processes reach with
 * `inspect: inspector()` from lifeline-ws/inspector/node.
 */
import { DEFAULT_PORT } from './protocol.js'
import { startRelay } from './relay.js'

const USAGE = `Usage: lifeline-ws inspect [--port <port>] [--host <host>]

Serves the lifeline inspector on http://127.0.0.1:${DEFAULT_PORT}/ and a relay for Node
processes. In a process, give each connection the inspector:

  import { inspector } from 'lifeline-ws/inspector/node'
  createConnection({ url, inspect: inspector() })

Options:
  --port <port>  the port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host <host>  the interface (default 127.0.0.1; what the relay shows is the inside of your connections)
  --help         this text`

function fail(message: string): never {
  console.error(`lifeline-ws: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function parse(args: string[]): { port: number; host: string } {
  const [command, ...rest] = args
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE)
    process.exit(0)
  }
  if (command !== 'inspect') fail(command === undefined ? 'expected a command' : `unknown command ${JSON.stringify(command)}`)
  let port = DEFAULT_PORT
  let host = '127.0.0.1'
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i]!.split('=', 2) as [string, string | undefined]
    const value = () => inline ?? rest[++i] ?? fail(`${flag} needs a value`)
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else if (flag === '--port' || flag === '-p') {
      const text = value()
      port = Number(text)
      if (!/^\d+$/.test(text) || port > 65535) fail(`--port must be an integer from 0 to 65535, got ${JSON.stringify(text)}`)
    } else if (flag === '--host') {
      host = value()
    } else {
      fail(`unknown option ${JSON.stringify(flag)}`)
    }
  }
  return { port, host }
}

const { port, host } = parse(process.argv.slice(2))
try {
  const relay = await startRelay({ port, host, log: (line) => console.error(`lifeline-ws: ${line}`) })
  console.log(`lifeline inspector: ${relay.url}`)
  if (['0.0.0.0', '::'].includes(host)) console.log(`From another machine: http://<this machine's address>:${relay.port}/ (by its IP address; a host name other than localhost is refused)`)
  console.log(`Node processes: createConnection({ url, inspect: inspector(${relay.port === DEFAULT_PORT ? '' : `{ port: ${relay.port} }`}) }) with inspector from 'lifeline-ws/inspector/node'`)
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) console.warn(`Warning: listening on ${host}: anyone who reaches it sees your connections' state, context and close reasons`)
  const stop = () => void relay.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} catch (error) {
  const code = (error as { code?: string }).code
  console.error(code === 'EADDRINUSE' ? `lifeline-ws: port ${port} is in use on ${host}; choose another with --port` : `lifeline-ws: could not start the inspector: ${(error as Error).message}`)
  process.exit(1)
}
