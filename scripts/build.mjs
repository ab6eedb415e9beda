// `npm run build`, also run by `prepare` (npm pack, npm publish, a git install
// and `npm install` in a clone): compiles machines/ and src/ into dist/ with
// declarations and source maps that point at the shipped .ts files.
// Plain Node, no dependencies beyond the compiler.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const root = join(dirname(new URL(import.meta.url).pathname), '..')

// A file removed from src/ must not linger in dist/ and get published.
rmSync(join(root, 'dist'), { recursive: true, force: true })

// The compiler by package, not node_modules/.bin/tsc: the typescript-5.9 alias
// (for the consumer type tests) installs a `tsc` too, and either may own the link.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc')
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--declarationMap'], { cwd: root, stdio: 'inherit' })
