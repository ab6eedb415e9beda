/**
 * The package as a user gets it. `packFreshCheckout()` copies the files git
 * would commit (tracked and new, never ignored ones such as dist/) into a
 * temporary directory, as a fresh clone has them, and runs `npm pack` there,
 * so the tarball proves that packing builds dist/ by itself. `installConsumer()`
 * installs that tarball (or the same files from a git URL) into a copy of a
 * project from test/consumers/.
 *
 * Offline-friendly: every dependency is in the npm cache after `npm ci`
 * (`--prefer-offline`); the compilers and Vite are the repository's own, run
 * against the consumer's directory, so a consumer installs only the tarball.
 */
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))

/** A bin of the repository's dev dependencies, run with this Node. */
export const bin = {
  tsc7: join(root, 'node_modules/typescript/bin/tsc'),
  tsc59: join(root, 'node_modules/typescript-5.9/bin/tsc'),
  vite: join(root, 'node_modules/vite/bin/vite.js'),
  publint: join(root, 'node_modules/publint/src/cli.js'),
  attw: join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
}

// A user's shell, not this test run's: npm sets npm_* variables for the
// scripts it runs (a nested npm would take some as its own configuration, the
// project's prefix among them), and vitest sets NODE_ENV=test (Vite would
// then bundle development builds).
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|VITEST)/i.test(key) && key !== 'NODE_ENV'))

export interface Ran {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to completion, killed after `timeout` ms; never throws on a non-zero exit. */
export function run(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: cleanEnv(), timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, stdout, stderr: error !== null && error.killed ? `${stderr}\n(killed after ${timeout} ms)` : stderr })
    })
  })
}

/** Runs a Node script (a bin of a dev dependency, or a file) with this Node. */
export const node = (args: string[], cwd: string, timeout?: number): Promise<Ran> => run(process.execPath, args, cwd, timeout)

function check(what: string, ran: Ran): Ran {
  if (ran.code !== 0) throw new Error(`${what} exited with ${ran.code}:\n${ran.stdout}\n${ran.stderr}`)
  return ran
}

/** A scratch directory for one test run; remove it with `rmSync(dir, { recursive: true })`. */
export const scratch = (): string => mkdtempSync(join(tmpdir(), 'lifeline-package-'))

export interface Packed {
  /** The tarball `npm pack` made. */
  tarball: string
  /** A git repository holding one commit of the same files, for a git install. */
  repository: string
}

/** Packs the files git would commit, as a fresh clone has them. */
export async function packFreshCheckout(dir: string): Promise<Packed> {
  const checkout = join(dir, 'checkout')
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)))
  for (const file of files) {
    mkdirSync(dirname(join(checkout, file)), { recursive: true })
    cpSync(join(root, file), join(checkout, file))
  }
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=package test', '-c', 'user.email=package-test@localhost', ...args], { cwd: checkout, stdio: 'ignore' })
  git('init', '-q')
  git('add', '--', ...files)
  git('commit', '-q', '--no-verify', '-m', 'checkout')
  // The dependencies `npm install` would have put there; dist/ is left to `prepare`.
  symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir')
  check('npm pack', await run('npm', ['pack', '--pack-destination', dir], checkout, 120_000))
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${dir}`)
  return { tarball: join(dir, tarball), repository: checkout }
}

/**
 * Copies test/consumers/<name> into `dir` and installs `spec` there (a
 * tarball's path, or a git URL); returns the project's path.
 */
export async function installConsumer(name: string, spec: string, dir: string, as = name): Promise<string> {
  const project = join(dir, as)
  cpSync(join(root, 'test/consumers', name), project, { recursive: true })
  check(`npm install ${spec} in the ${as} consumer`, await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', spec], project, 120_000))
  return project
}
