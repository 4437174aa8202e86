/**
 * One run end to end against the simulated server on loopback: the results say what happened
 * and keep every measured request, whether the run completed, failed or was cancelled.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'

import { runBenchmark, writeResultsFile } from '../../src/benchmark.js'
import { parseSettings } from '../../src/config/parse.js'
import type { BenchSettings } from '../../src/config/settings.js'
import { silentLogger } from '../../src/log.js'
import { startSimServer, type SimServer } from '../../src/sim/server.js'

const cacheDir = mkdtempSync(path.join(tmpdir(), 'llm-bench-benchmark-'))

function settings(url: string, extra: Record<string, string> = {}): BenchSettings {
  return parseSettings({
    'server-url': url,
    dataset: 'data/sharegpt-v3-sample50.json',
    'cache-dir': cacheDir,
    requests: '24',
    concurrency: '4',
    'think-time': '0',
    'ready-timeout': '5s',
    'grace-period': '2s',
    'abort-after': '0',
    ...extra
  })
}

describe('runBenchmark', () => {
  let sim: SimServer

  beforeAll(async () => {
    sim = await startSimServer({ seed: 7, timeScale: 20 })
  })

  afterAll(async () => {
    await sim.close()
  })

  it('completes a run with every request, the dataset facts, the server facts and a summary', async () => {
    const results = await runBenchmark({ settings: settings(sim.url), log: silentLogger })

    expect(results.status).toBe('completed')
    expect(results.reason).toBeNull()
    expect(results.requests.filter(r => r.phase === 'measured')).toHaveLength(24)
    expect(results.summary.requests.succeeded).toBe(24)
    expect(results.summary.distributions.ttft.n).toBe(24)
    expect(results.dataset?.prompts).toBe(47)
    expect(results.dataset?.stages.at(0)).toEqual({ name: 'read', kept: 50 })
    expect(results.server.models).toContain('my-model')
    expect(results.server.model).toBe('my-model')
    expect(results.fingerprint.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(results.runner.cores).toBeGreaterThan(0)
  })

  it('never writes the API key or header values into the results', async () => {
    const keyed = await startSimServer({ seed: 7, timeScale: 20, apiKey: 'sk-secret-123' })
    try {
      const results = await runBenchmark({
        settings: settings(keyed.url, {
          'api-key': 'sk-secret-123',
          headers: 'X-Tenant: tenant-secret-456',
          requests: '4'
        }),
        log: silentLogger
      })
      expect(results.status).toBe('completed')
      const text = JSON.stringify(results)
      expect(text).not.toContain('sk-secret-123')
      expect(text).not.toContain('tenant-secret-456')
      expect(results.settings.request.apiKey).toBe('***')
    } finally {
      await keyed.close()
    }
  })

  it('fails with the reason when the server never becomes ready, keeping the dataset facts', async () => {
    const results = await runBenchmark({
      settings: settings('http://127.0.0.1:9/v1', { 'ready-timeout': '1s' }),
      log: silentLogger
    })
    expect(results.status).toBe('failed')
    expect(results.reason).toMatch(/127\.0\.0\.1:9/)
    expect(results.dataset?.prompts).toBe(47)
    expect(results.requests).toEqual([])
  })

  it('fails when every request failed, naming the first error', async () => {
    const broken = await startSimServer({ seed: 7, timeScale: 20, errorRate: 1, errorStatus: 500 })
    try {
      const results = await runBenchmark({
        settings: settings(broken.url, { requests: '6' }),
        log: silentLogger
      })
      expect(results.status).toBe('failed')
      expect(results.reason).toMatch(
        /every one of the 6 measured requests failed; the first error \(http\)/
      )
      expect(results.requests).toHaveLength(6)
    } finally {
      await broken.close()
    }
  })

  it('fails with a clear reason for a dataset that does not exist', async () => {
    const results = await runBenchmark({
      settings: settings(sim.url, { dataset: 'no/such/file.json' }),
      log: silentLogger
    })
    expect(results.status).toBe('failed')
    expect(results.reason).toContain('no/such/file.json')
    expect(results.dataset).toBeNull()
  })

  it('is cancelled by its signal and keeps what it measured', async () => {
    const controller = new AbortController()
    const started = runBenchmark({
      settings: settings(sim.url, { requests: '0', duration: '60s' }),
      log: silentLogger,
      signal: controller.signal,
      onProgress: progress => {
        if (progress.done >= 4) controller.abort()
      }
    })
    const results = await started
    expect(results.status).toBe('cancelled')
    expect(results.summary.requests.succeeded).toBeGreaterThanOrEqual(4)
  })

  it('writes the results file whole, through a temporary name', async () => {
    const results = await runBenchmark({
      settings: settings(sim.url, { requests: '2' }),
      log: silentLogger
    })
    const file = path.join(cacheDir, 'out', 'results.json')
    await writeResultsFile(file, results)
    const written = JSON.parse(readFileSync(file, 'utf8'))
    expect(written.schema).toBe('llm-bench/results')
    expect(written.requests).toHaveLength(2)
  })
})
