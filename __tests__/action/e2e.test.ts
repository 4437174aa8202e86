/**
 * The action end to end, run exactly as a runner runs it: `node dist/index.js` in a child
 * process on Node 24, with the inputs as `INPUT_<NAME>` variables, the `GITHUB_*` variables,
 * an event payload file, and the job summary and output files. Around it, on loopback only:
 * the simulated LLM server (at a high time scale, with the bundled 50-conversation sample as
 * the dataset), the GitHub REST API stand-in (pull-request comments) and the Actions cache
 * service stand-in, so @actions/cache's own tar, zstd and HTTP code runs for real and a push
 * run's saved baseline is what a later pull-request run restores.
 *
 * The tests run the bundle as it is: rebuild it with `npm run bundle` after changing the
 * sources (`.ci/run` bundles before it tests). Each job gets a fresh workspace, as on a
 * runner, so a baseline can only come from the cache service.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'

import { metricDefinition } from '../../src/metrics/catalog.js'
import { startSimServer, type SimOptions, type SimServer } from '../../src/sim/server.js'
import { startCacheService, type CacheServiceStandIn } from '../helpers/cache-service.js'
import { startGitHubApi, type GitHubApiStandIn } from '../helpers/github-api.js'

const DIST = resolve('dist/index.js')
const DATASET = resolve('data/sharegpt-v3-sample50.json')
const REPOSITORY = 'acme/inference'
const PR = { owner: 'acme', repo: 'inference', issueNumber: 7 }
const API_KEY = 'sk-e2e-SECRET-0a1b2c3d'

/** Short runs: ~50 requests of at most 48 tokens, the simulated server 10x faster than real. */
const FAST_SIM: Partial<SimOptions> = { timeScale: 10, slots: 8, prefillMsPerToken: 1 }
const BASE_INPUTS: Record<string, string> = {
  dataset: DATASET,
  'n-prompts': '40',
  'max-tokens': '48',
  concurrency: '6',
  requests: '50',
  duration: '60s',
  'think-time': '0',
  'ready-timeout': '10s',
  'warmup-requests': '4',
  // Most completions hit max-tokens on purpose (short runs): that must not abort them.
  'abort-truncated-rate': '1'
}

interface Job {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  workspace: string
  results: string
}

type Event = 'push' | 'pull_request' | 'workflow_run'

let cacheService: CacheServiceStandIn
let github: GitHubApiStandIn
let root: string
let runCounter = 1000
const servers: SimServer[] = []

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run 'npm run bundle' first`)
  root = mkdtempSync(join(tmpdir(), 'llm-bench-e2e-'))
})

beforeEach(async () => {
  cacheService = await startCacheService()
  github = await startGitHubApi()
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map(server => server.close()))
  await cacheService.close()
  await github.close()
})

afterAll(() => undefined)

async function simServer(options: Partial<SimOptions> = {}): Promise<SimServer> {
  const server = await startSimServer({ ...FAST_SIM, ...options })
  servers.push(server)
  return server
}

function payload(event: Event): unknown {
  const repository = { full_name: REPOSITORY, name: 'inference', default_branch: 'main' }
  if (event === 'push') return { ref: 'refs/heads/main', repository }
  if (event === 'workflow_run') {
    return { action: 'completed', workflow_run: { head_sha: 'b'.repeat(40) }, repository }
  }
  return {
    action: 'synchronize',
    number: PR.issueNumber,
    pull_request: {
      number: PR.issueNumber,
      head: { ref: 'faster-kernels', sha: 'b'.repeat(40) },
      base: { ref: 'main', sha: 'a'.repeat(40) }
    },
    repository
  }
}

/** One job: a fresh workspace and runner temp, the event's variables, the step's inputs. */
function runAction(
  event: Event,
  inputs: Record<string, string>,
  onStart: (child: ChildProcess) => void = () => undefined
): Promise<Job> {
  const runId = String(++runCounter)
  const workspace = join(root, `job-${runId}`)
  const temp = join(workspace, '_temp')
  mkdirSync(temp, { recursive: true })
  const eventPath = join(temp, 'event.json')
  writeFileSync(eventPath, JSON.stringify(payload(event)))
  const summaryPath = join(temp, 'step-summary.md')
  const outputPath = join(temp, 'output.txt')
  writeFileSync(summaryPath, '')
  writeFileSync(outputPath, '')
  const isPr = event === 'pull_request'
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? temp,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: isPr ? `refs/pull/${PR.issueNumber}/merge` : 'refs/heads/main',
    GITHUB_REF_NAME: isPr ? `${PR.issueNumber}/merge` : 'main',
    GITHUB_HEAD_REF: isPr ? 'faster-kernels' : '',
    GITHUB_BASE_REF: isPr ? 'main' : '',
    GITHUB_SHA: (isPr ? 'c' : 'a').repeat(40),
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKSPACE: workspace,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: github.url,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_OUTPUT: outputPath,
    RUNNER_TEMP: temp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...cacheService.env(),
    ...Object.fromEntries(
      Object.entries({ ...BASE_INPUTS, 'github-token': 'ghs_e2eToken', ...inputs }).map(
        ([name, value]) => [`INPUT_${name.toUpperCase()}`, value]
      )
    )
  }
  return new Promise((resolveJob, reject) => {
    const child = spawn(process.execPath, [DIST], { cwd: workspace, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    onStart(child)
    child.on('close', code => {
      const resultsPath = join(workspace, inputs['results-file'] ?? 'llm-bench-results.json')
      resolveJob({
        code,
        stdout,
        stderr,
        outputs: readOutputs(outputPath),
        summary: readFileSync(summaryPath, 'utf8'),
        workspace,
        results: existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : ''
      })
    })
  })
}

/** The `name<<delimiter` … `delimiter` records @actions/core writes to GITHUB_OUTPUT. */
function readOutputs(file: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const text = readFileSync(file, 'utf8')
  for (const match of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[match[1]] = match[3]
  }
  return outputs
}

const annotations = (job: Job, level: 'error' | 'warning'): string[] =>
  job.stdout.split('\n').filter(line => line.startsWith(`::${level}`))

/** A failing job shows why: its output, for the test log. */
function explain(job: Job): string {
  return `exit ${job.code}\n--- stdout\n${job.stdout}\n--- stderr\n${job.stderr}`
}

function expectExit(job: Job, code: number): void {
  if (job.code !== code) throw new Error(`expected exit ${code}\n${explain(job)}`)
}

const baselineEntries = (): string[] =>
  cacheService
    .entries()
    .map(entry => entry.key)
    .filter(key => key.startsWith('llm-bench-baseline-'))

describe('the action, end to end', () => {
  it('saves a baseline on a push to the default branch', async () => {
    const server = await simServer()
    const job = await runAction('push', { 'server-url': server.url })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('no-baseline')
    expect(Number(job.outputs.requests)).toBeGreaterThanOrEqual(50)
    expect(Number(job.outputs['ttft-p95-ms'])).toBeGreaterThan(0)
    expect(JSON.parse(job.outputs.regressions)).toEqual([])
    const results = JSON.parse(job.results)
    expect(results.status).toBe('completed')
    expect(baselineEntries()).toEqual([
      `llm-bench-baseline-default-${results.fingerprint.hash}-main-${runCounter}-1`
    ])
    // The prepared prompt set is cached too; a local dataset file itself is not.
    const keys = cacheService.entries().map(entry => entry.key)
    expect(keys.some(key => key.startsWith('llm-bench-prepared-'))).toBe(true)
    expect(keys.some(key => key.startsWith('llm-bench-dataset-'))).toBe(false)
    expect(job.stdout).toContain('Saved the baseline')
  })

  it('passes a pull request against the same server and keeps one comment', async () => {
    const server = await simServer({ apiKey: API_KEY })
    const inputs = {
      'server-url': server.url,
      'api-key': API_KEY,
      headers: `X-Route-Token: ${API_KEY}-header`
    }
    expectExit(await runAction('push', inputs), 0)
    const first = await runAction('pull_request', inputs)
    expectExit(first, 0)
    expect(first.outputs.verdict).toBe('pass')
    expect(github.commentsOn(PR)).toHaveLength(1)
    const second = await runAction('pull_request', inputs)
    expectExit(second, 0)
    expect(github.commentsOn(PR)).toHaveLength(1)
    expect(github.requests.filter(r => r.method === 'PATCH')).toHaveLength(1)
    // A pull request never saves a baseline.
    expect(baselineEntries()).toHaveLength(1)
    // The secrets reach the server but no output: only the masking command names them.
    for (const job of [first, second]) {
      const everything = [
        job.stdout
          .split('\n')
          .filter(line => !line.startsWith('::add-mask::'))
          .join('\n'),
        job.stderr,
        job.summary,
        JSON.stringify(job.outputs),
        job.results,
        readFileSync(join(job.workspace, 'llm-bench-summary.md'), 'utf8'),
        github.commentsOn(PR)[0].body
      ].join('\n')
      expect(everything).not.toContain(API_KEY)
      expect(job.stdout).toContain(`::add-mask::${API_KEY}`)
    }
  })

  it('fails a pull request whose server is 30% slower and names the regressions', async () => {
    const base = await simServer({ seed: 1 })
    expectExit(await runAction('push', { 'server-url': base.url }), 0)
    const slower = await simServer({ seed: 2, slowdown: 1.3 })
    const job = await runAction('pull_request', { 'server-url': slower.url })
    expectExit(job, 1)
    expect(job.outputs.verdict).toBe('regression')
    const regressions = JSON.parse(job.outputs.regressions) as { metric: string }[]
    expect(regressions.length).toBeGreaterThan(0)
    const errors = annotations(job, 'error')
    expect(errors.some(line => line.includes('title=Regression'))).toBe(true)
    expect(errors.at(-1)).toMatch(/^::error::Performance regression \(/)
    const comment = github.commentsOn(PR)[0].body
    for (const { metric } of regressions) {
      expect(comment).toContain(`${metricDefinition(metric)?.title}`)
    }
  })

  it('does not fail two runs of the same server with different noise', async () => {
    const first = await simServer({ seed: 11, jitter: 0.1 })
    expectExit(await runAction('push', { 'server-url': first.url }), 0)
    const second = await simServer({ seed: 12, jitter: 0.1 })
    const job = await runAction('pull_request', { 'server-url': second.url })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('pass')
  })

  it('passes with a note when there is no baseline', async () => {
    const server = await simServer()
    const job = await runAction('pull_request', { 'server-url': server.url })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('no-baseline')
    expect(job.summary).toContain("No baseline 'default' of 'main' yet")
    expect(github.commentsOn(PR)[0].body).toContain('No baseline')
  })

  it('says not-comparable when the settings changed', async () => {
    const server = await simServer()
    expectExit(await runAction('push', { 'server-url': server.url }), 0)
    const job = await runAction('pull_request', { 'server-url': server.url, 'max-tokens': '32' })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('not-comparable')
    expect(job.summary).toMatch(/max\\?-tokens\\?: 48 → 32/)
  })

  it('warns with the permissions to add when the comment gets a 403, and still reports', async () => {
    const server = await simServer()
    github.failWrites(403)
    const job = await runAction('pull_request', { 'server-url': server.url })
    expectExit(job, 0)
    const warning = annotations(job, 'warning').find(line => line.includes('pull-request comment'))
    expect(warning).toContain('pull-requests: write')
    expect(github.commentsOn(PR)).toHaveLength(0)
    expect(job.summary).toContain('llm-bench')
    expect(job.summary.length).toBeGreaterThan(500)
  })

  it('comments from a workflow_run job, the fork-safe way, only on the pull request that run built', async () => {
    const server = await simServer()
    const pr = await runAction('pull_request', {
      'server-url': server.url,
      'comment-on-pr': 'false'
    })
    expectExit(pr, 0)
    expect(github.commentsOn(PR)).toHaveLength(0)
    const commentFile = pr.outputs['comment-file']
    expect(readFileSync(commentFile, 'utf8')).toContain('<!-- llm-bench-action: name=default -->')

    let headSha = 'b'.repeat(40)
    github.route('GET', /^\/repos\/acme\/inference\/pulls\/(\d+)$/, (_request, match) => ({
      status: 200,
      body: { number: Number(match[1]), head: { sha: headSha } }
    }))
    const post = { 'post-comment-file': commentFile, 'pull-request': String(PR.issueNumber) }
    const first = await runAction('workflow_run', post)
    expectExit(first, 0)
    expect(first.outputs.comment).toBe('created')
    expect(github.commentsOn(PR)).toHaveLength(1)
    expect(github.commentsOn(PR)[0].body).toBe(readFileSync(commentFile, 'utf8'))
    // Nothing else ran: no benchmark, no results file.
    expect(first.results).toBe('')

    const again = await runAction('workflow_run', post)
    expect(again.outputs.comment).toBe('updated')
    expect(github.commentsOn(PR)).toHaveLength(1)

    headSha = 'd'.repeat(40)
    const moved = await runAction('workflow_run', post)
    expectExit(moved, 0)
    expect(annotations(moved, 'warning').join('\n')).toContain('Not commenting on pull request #7')
    expect(github.requests.filter(r => r.method === 'PATCH')).toHaveLength(1)

    const bad = await runAction('workflow_run', { ...post, 'pull-request': 'seven' })
    expectExit(bad, 1)
    expect(bad.stdout).toContain("'pull-request' must be the pull request's number")
  })

  it('completes with warnings when the cache service is down', async () => {
    const server = await simServer()
    cacheService.setDown('refused')
    const job = await runAction('push', { 'server-url': server.url })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('no-baseline')
    expect(JSON.parse(job.results).status).toBe('completed')
    const warnings = annotations(job, 'warning').join('\n')
    expect(warnings).toContain('Failed to restore')
    expect(warnings).toContain('Could not save the baseline')
    expect(cacheService.entries()).toEqual([])
  })

  it('fails at once on an invalid input, naming it, without a stack trace', async () => {
    const job = await runAction('push', { concurrency: 'many' })
    expectExit(job, 1)
    expect(job.stdout).toContain(
      "::error::'concurrency' must be a whole number from 0 to 10000 but got 'many'"
    )
    expect(job.stdout + job.stderr).not.toMatch(/\n\s+at /)
    expect(job.results).toBe('')
  })

  it('compares with a baseline-file instead of the cache, and warns on a corrupt one', async () => {
    const server = await simServer()
    cacheService.setDown('refused')
    const push = await runAction('push', { 'server-url': server.url, 'save-baseline': 'false' })
    expectExit(push, 0)
    const resultsFile = join(root, `baseline-${runCounter}.json`)
    writeFileSync(resultsFile, push.results)
    const job = await runAction('pull_request', {
      'server-url': server.url,
      'baseline-file': resultsFile
    })
    expectExit(job, 0)
    expect(job.outputs.verdict).toBe('pass')
    const corrupt = join(root, `corrupt-${runCounter}.json`)
    writeFileSync(corrupt, JSON.stringify({ schema: 'llm-bench/baseline', schemaVersion: 0 }))
    const older = await runAction('pull_request', {
      'server-url': server.url,
      'baseline-file': corrupt
    })
    expectExit(older, 0)
    expect(older.outputs.verdict).toBe('no-baseline')
    const warning = annotations(older, 'warning').find(line => line.includes('Cannot use'))
    expect(warning).toContain('older than this llm-bench reads')
  })

  it('downloads a URL dataset once; the second run restores only the prepared prompt set', async () => {
    const server = await simServer()
    const downloads = await serveDataset()
    const inputs = { 'server-url': server.url, dataset: downloads.url }
    expectExit(await runAction('push', inputs), 0)
    expect(downloads.requests()).toBe(1)
    const entry = (prefix: string) => {
      const found = cacheService.entries().filter(e => e.key.startsWith(prefix))
      expect(found).toHaveLength(1)
      return found[0]
    }
    const download = entry('llm-bench-dataset-')
    const prepared = entry('llm-bench-prepared-')
    const firstCalls = cacheService.calls.length
    const second = await runAction('push', inputs)
    expectExit(second, 0)
    expect(downloads.requests()).toBe(1)
    const dataset = JSON.parse(second.results).dataset
    expect(dataset).toMatchObject({ fromPreparedCache: true, path: null, prompts: 40 })
    expect(dataset.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(dataset.bytes).toBe(readFileSync(DATASET).length)
    expect(second.stdout).toContain('Restored the prepared prompt set from the Actions cache')
    expect(second.stdout).not.toContain('the dataset download')
    // The service saw the prepared set's blob fetched, never the download's 673 MB stand-in.
    const fetched = cacheService.calls
      .slice(firstCalls)
      .filter(call => call.method === 'GET')
      .map(call => call.path)
    expect(fetched.some(path => path.includes(prepared.blobId))).toBe(true)
    expect(fetched.some(path => path.includes(download.blobId))).toBe(false)
    // Nothing new to save: the cache held the prepared set already.
    expect(
      cacheService.entries().filter(e => !e.key.startsWith('llm-bench-baseline-'))
    ).toHaveLength(2)
    await downloads.close()
  })

  it('writes the results and the summary of a cancelled job', async () => {
    const server = await simServer({ timeScale: 1 })
    const job = await runAction(
      'push',
      { 'server-url': server.url, requests: '0', duration: '5m' },
      child => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('[measured]')) child.kill('SIGINT')
        })
      }
    )
    expectExit(job, 1)
    const results = JSON.parse(job.results)
    expect(results.status).toBe('cancelled')
    expect(job.summary.length).toBeGreaterThan(200)
    expect(job.outputs.verdict).toBe('failed')
    expect(annotations(job, 'error').at(-1)).toMatch(/^::error::The benchmark was cancelled/)
    expect(baselineEntries()).toEqual([])
  })
})

/** The dataset at an http URL, counting the downloads. */
async function serveDataset(): Promise<{
  url: string
  requests: () => number
  close: () => Promise<void>
}> {
  let count = 0
  const body = readFileSync(DATASET)
  const server: Server = createServer((_req, res) => {
    count++
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
    res.end(body)
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/datasets/sharegpt.json`,
    requests: () => count,
    close: () => new Promise(done => server.close(() => done()))
  }
}
