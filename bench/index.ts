/**
 * Runs the benchmarks of this folder one after the other, each in its own child process, so
 * that none inherits another's heap, JIT state or open sockets, and each prints its own output.
 * Exits non-zero when a benchmark crashes (a missed goal is reported by the benchmark itself).
 *
 * Usage: `npm run bench` (all) or `npm run bench -- client-overhead [dataset ...]`.
 *
 * Every `bench/*.ts` is a benchmark except this file and the helper modules listed in HELPERS;
 * shared code may also live in a subfolder, which is never scanned.
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
/** Resolved here so a benchmark runs whatever the working directory. */
const TSX = import.meta.resolve('tsx')
const HELPERS = new Set(['index', 'stream-server'])
/** The cheap, self-contained benchmarks first; any other file runs after these, by name. */
const ORDER = ['client-overhead', 'dataset', 'gate-accuracy']

interface Outcome {
  name: string
  code: number | null
  signal: NodeJS.Signals | null
  seconds: number
}

function discover(): string[] {
  const names = readdirSync(HERE)
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map(file => file.slice(0, -'.ts'.length))
    .filter(name => !HELPERS.has(name))
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length)
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

function select(available: string[], wanted: string[]): string[] {
  const unknown = wanted.filter(name => !available.includes(name.replace(/\.ts$/, '')))
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')}; available: ${available.join(', ')}`)
    process.exit(2)
  }
  return wanted.length === 0 ? available : wanted.map(name => name.replace(/\.ts$/, ''))
}

function run(name: string): Promise<Outcome> {
  console.log(`\n=== bench/${name}.ts ===`)
  const started = performance.now()
  // tsx as a loader of the same Node binary: no extra npx process between us and the benchmark.
  const child = spawn(process.execPath, ['--import', TSX, join(HERE, `${name}.ts`)], {
    stdio: 'inherit'
  })
  return new Promise(resolve => {
    const done = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ name, code, signal, seconds: (performance.now() - started) / 1000 })
    child.once('error', error => {
      console.error(`bench/${name}.ts could not start: ${error.message}`)
      done(null, null)
    })
    child.once('exit', done)
  })
}

function report(outcomes: Outcome[]): boolean {
  console.log('\n=== benchmarks ===')
  for (const o of outcomes) {
    const status = o.code === 0 ? 'ok' : `CRASHED (${o.signal ?? `exit ${o.code}`})`
    console.log(`${o.name.padEnd(20)} ${status.padEnd(24)} ${o.seconds.toFixed(1)} s`)
  }
  return outcomes.every(o => o.code === 0)
}

async function main(): Promise<void> {
  const names = select(discover(), process.argv.slice(2))
  const outcomes: Outcome[] = []
  for (const name of names) outcomes.push(await run(name))
  if (!report(outcomes)) process.exitCode = 1
}

await main()
