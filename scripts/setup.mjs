// Runs before `npm test` and `npm run demo`: installs what a fresh clone lacks,
// so the README's two commands are all a newcomer needs. Plain Node, no dependencies.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (command) => execSync(command, { stdio: 'inherit' })

if (!existsSync('node_modules/.bin/vitest') || !existsSync('node_modules/xstate')) {
  console.log('setup: installing dependencies')
  run(existsSync('package-lock.json') ? 'npm ci' : 'npm install')
}

const wantsBrowser = process.argv.includes('--browser')
if (wantsBrowser && !existsSync('/usr/bin/chromium')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (root && existsSync('/usr/bin/apt-get')) {
    console.log("setup: installing Debian's chromium for the browser tests")
    run('apt-get update && apt-get install -y chromium')
  } else {
    console.warn('setup: /usr/bin/chromium is missing; install it (Debian: apt-get install chromium) to run the browser tests')
  }
}
