// Runs before `npm test` and `npm run demo`: installs what a fresh clone lacks,
// so the README's two commands are all a newcomer needs. Plain Node, no dependencies.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (command) => execSync(command, { stdio: 'inherit' })

if (!existsSync('node_modules/.bin/vitest') || !existsSync('node_modules/xstate')) {
  console.log('setup: installing dependencies')
  run(existsSync('package-lock.json') ? 'npm ci' : 'npm install')
}

// The tests need a browser and a Redis server of their own; with --browser (npm test) both are installed when missing.
const wantsTestTools = process.argv.includes('--browser')
const tools = [
  { binary: '/usr/bin/chromium', pkg: 'chromium', why: 'the browser tests' },
  { binary: '/usr/bin/redis-server', pkg: 'redis-server', why: 'the cluster tests' },
].filter((tool) => wantsTestTools && !existsSync(tool.binary))
if (tools.length > 0) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (root && existsSync('/usr/bin/apt-get')) {
    console.log(`setup: installing Debian's ${tools.map((t) => t.pkg).join(' and ')} for ${tools.map((t) => t.why).join(' and ')}`)
    run(`apt-get update && apt-get install -y ${tools.map((t) => t.pkg).join(' ')}`)
  } else {
    for (const tool of tools) console.warn(`setup: ${tool.binary} is missing; install it (Debian: apt-get install ${tool.pkg}) to run ${tool.why}`)
  }
}
