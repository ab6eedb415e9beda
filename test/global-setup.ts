import { execSync } from 'node:child_process'

// The package and example tests import lifeline through its exports map (dist/).
export default function setup(): void {
  execSync('npx tsc -p tsconfig.json', { cwd: new URL('..', import.meta.url), stdio: 'inherit' })
}
