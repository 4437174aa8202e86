/**
 * The `llm-bench` command as users run it: the bundled `dist/cli/index.js` in a child process
 * (`npm run bundle` first; CI bundles before testing), against the simulated server on loopback.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'

import { startSimServer, type SimServer } from '../../src/sim/server.js'

const CLI = path.resolve('dist/cli/index.js')
const work = mkdtempSync(path.join(tmpdir(), 'llm-bench-cli-'))

interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

function cli(
  args: string[],
  options: { env?: Record<string, string>; interruptWhen?: RegExp } = {}
): Promise<Outcome> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env }
    })
    let stdout = ''
    let stderr = ''
    let interrupted = false
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => {
      stderr += chunk
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
        interrupted = true
        child.kill('SIGINT')
      }
    })
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

const sample = path.resolve('data/sharegpt-v3-sample50.json')
const quick = ['--dataset', sample, '--think-time', '0', '--concurrency', '4']

describe('llm-bench', () => {
  let sim: SimServer
  let slow: SimServer

  beforeAll(async () => {
    sim = await startSimServer({ seed: 3, timeScale: 20 })
    slow = await startSimServer({ seed: 4, timeScale: 20, slowdown: 1.5 })
  })

  afterAll(async () => {
    await Promise.all([sim.close(), slow.close()])
  })

  it('lists every setting and the k6 environment variables in run --help', async () => {
    const { code, stdout } = await cli(['run', '--help'])
    expect(code).toBe(0)
    for (const flag of ['--server-url', '--n-prompts', '--max-context', '--rate', '--out']) {
      expect(stdout).toContain(flag)
    }
    expect(stdout).toContain('SERVER_BENCH_MODEL_ALIAS')
  })

  it.each([
    [
      ['run', '--concurrency', 'eight'],
      "'concurrency' must be a whole number from 0 to 10000 but got 'eight'"
    ],
    [['run', '--duration', '10 minutes'], "'duration' must be a positive duration"],
    [['run', '--server-url', 'localhost:8080'], "'server-url' must be an http(s) URL"],
    [['run', '--extra-body', '[1]'], "'extra-body' must be a JSON object"],
    [
      ['run', '--max-prompt-tokens', '4096'],
      "'max-prompt-tokens' must be at most 'max-context' (2048)"
    ],
    [
      ['compare', 'a.json', 'b.json', '--confidence', '2'],
      "'confidence' must be a number between 0 and 1"
    ],
    [['compare', 'missing.json', 'b.json'], 'missing.json']
  ])('rejects %j with a clear message and no stack trace', async (args, message) => {
    const { code, stderr } = await cli(args)
    expect(code).toBe(2)
    expect(stderr).toContain(message)
    expect(stderr).not.toMatch(/\n\s+at /)
  })

  it('benchmarks the server named by SERVER_BENCH_URL, prints the summary and writes the results', async () => {
    const out = path.join(work, 'run.json')
    const { code, stdout, stderr } = await cli(
      ['run', ...quick, '--requests', '12', '--out', out],
      {
        env: { SERVER_BENCH_URL: sim.url, SERVER_BENCH_MAX_TOKENS: '64' }
      }
    )
    expect(stderr).toContain(`results written to ${out}`)
    expect(code).toBe(0)
    expect(stdout).toContain('Time to first token')
    expect(stdout).toContain('Decode rate')
    const results = JSON.parse(readFileSync(out, 'utf8'))
    expect(results.status).toBe('completed')
    expect(results.settings.request.maxTokens).toBe(64)
    expect(results.summary.requests.succeeded).toBe(12)
  })

  it('lets flags win over the environment', async () => {
    const out = path.join(work, 'flags.json')
    const { code } = await cli(
      ['run', ...quick, '--requests', '2', '--max-tokens', '32', '--out', out],
      { env: { SERVER_BENCH_URL: sim.url, SERVER_BENCH_MAX_TOKENS: '64' } }
    )
    expect(code).toBe(0)
    expect(JSON.parse(readFileSync(out, 'utf8')).settings.request.maxTokens).toBe(32)
  })

  it('writes the results of an interrupted run, marked cancelled, and exits 1', async () => {
    const out = path.join(work, 'cancelled.json')
    const { code, stderr } = await cli(
      ['run', ...quick, '--server-url', sim.url, '--duration', '60s', '--out', out],
      { interruptWhen: /closed loop/ }
    )
    expect(code).toBe(1)
    expect(stderr).toContain('interrupted')
    const results = JSON.parse(readFileSync(out, 'utf8'))
    expect(results.status).toBe('cancelled')
  })

  it('writes a failed results file when the server never answers, and exits 1', async () => {
    const out = path.join(work, 'failed.json')
    const { code, stderr } = await cli([
      'run',
      ...quick,
      '--server-url',
      'http://127.0.0.1:9/v1',
      '--ready-timeout',
      '1s',
      '--out',
      out
    ])
    expect(code).toBe(1)
    expect(stderr).toMatch(/run failed: .*127\.0\.0\.1:9/)
    expect(existsSync(out)).toBe(true)
    expect(JSON.parse(readFileSync(out, 'utf8')).status).toBe('failed')
  })

  it('compares two runs: the same server passes, a 50% slower one regresses and exits 1', async () => {
    const files = ['base', 'same', 'slower'].map(name => path.join(work, `${name}.json`))
    const args = [...quick, '--requests', '48']
    await cli(['run', ...args, '--server-url', sim.url, '--out', files[0]])
    await cli(['run', ...args, '--server-url', sim.url, '--out', files[1]])
    await cli(['run', ...args, '--server-url', slow.url, '--out', files[2]])

    const same = await cli(['compare', files[0], files[1]])
    expect(same.stdout).toMatch(/Verdict: .*pass/i)
    expect(same.code).toBe(0)

    const slower = await cli(['compare', files[0], files[2]])
    expect(slower.code).toBe(1)
    expect(slower.stdout).toMatch(/Time to first token median.*✗ regression/)
    expect(slower.stdout).toMatch(/Verdict: .*regress/i)
  })

  it('fails compare when the current run failed, and refuses a failed run as the baseline', async () => {
    const ok = path.join(work, 'ok.json')
    const failed = path.join(work, 'unready.json')
    await cli(['run', ...quick, '--requests', '24', '--server-url', sim.url, '--out', ok])
    await cli([
      'run',
      ...quick,
      '--server-url',
      'http://127.0.0.1:9/v1',
      '--ready-timeout',
      '1s',
      '--out',
      failed
    ])

    const current = await cli(['compare', ok, failed])
    expect(current.code).toBe(1)
    expect(current.stdout).toMatch(/Verdict: .*failed/i)

    const baseline = await cli(['compare', failed, ok])
    expect(baseline.code).toBe(2)
    expect(baseline.stderr).toContain(`The baseline file '${failed}' is a run that failed`)
  })

  it('gates with the default thresholds when --thresholds is blank', async () => {
    const files = ['blank-base', 'blank-slow'].map(name => path.join(work, `${name}.json`))
    await cli(['run', ...quick, '--requests', '48', '--server-url', sim.url, '--out', files[0]])
    await cli(['run', ...quick, '--requests', '48', '--server-url', slow.url, '--out', files[1]])
    const blank = await cli(['compare', files[0], files[1], '--thresholds', ' '])
    expect(blank.code).toBe(1)
    expect(blank.stdout).toMatch(/Decode rate median.*✗ regression/)
  })

  it.each([[['compare', 'only-one.json']], [['run', '--no-such-flag']], [['runn']]])(
    'exits 2 on a usage error: %j',
    async args => {
      const { code, stderr } = await cli(args)
      expect(code).toBe(2)
      expect(stderr).toMatch(/error: /)
    }
  )
})
