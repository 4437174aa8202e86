/**
 * One run end to end against the simulated server on loopback: the results say what happened
 * and keep every measured request, whether the run completed, failed or was cancelled.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'

import { runBenchmark, writeResultsFile } from '../../src/benchmark.js'
import { parseSettings } from '../../src/config/parse.js'
import type { BenchSettings } from '../../src/config/settings.js'
import { MemoryLogger, silentLogger } from '../../src/log.js'
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

  it('fails, and warns that the load outran the server, when every request was cut at the end', async () => {
    const slow = await startSimServer({ seed: 7, timeScale: 1, decodeMsPerToken: 200 })
    try {
      const results = await runBenchmark({
        settings: settings(slow.url, { requests: '0', duration: '1s', 'grace-period': '0' }),
        log: silentLogger
      })
      expect(results.status).toBe('failed')
      expect(results.reason).toMatch(/none of the \d+ measured requests finished/)
      expect(results.warnings.join('\n')).toMatch(
        /were still running when the run ended and were cut/
      )
    } finally {
      await slow.close()
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
    expect(readdirSync(path.dirname(file))).toEqual(['results.json'])
  })

  it('leaves no temporary file behind when the write fails', async () => {
    const results = await runBenchmark({
      settings: settings(sim.url, { requests: '1' }),
      log: silentLogger
    })
    // A directory where the file should be: the rename fails, the temporary file goes.
    const directory = path.join(cacheDir, 'taken')
    mkdirSync(path.join(directory, 'results.json'), { recursive: true })
    await expect(writeResultsFile(path.join(directory, 'results.json'), results)).rejects.toThrow()
    expect(readdirSync(directory)).toEqual(['results.json'])
  })
})

/** A server that is ready, then answers every completion with a 500 echoing what it was sent. */
async function startEchoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ data: [{ id: 'echo-model' }] }))
      return
    }
    request.resume()
    response.writeHead(500, { 'content-type': 'application/json' })
    const echoed = `${request.headers.authorization} ${request.headers['x-tenant']} ${request.url}`
    response.end(JSON.stringify({ error: { message: `rejected: ${echoed}` } }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { port, close: () => new Promise(resolve => server.close(() => resolve())) }
}

describe('runBenchmark secrets', () => {
  it('keeps the key, header values and URL credentials out of the results and the log', async () => {
    const echo = await startEchoServer()
    const log = new MemoryLogger()
    try {
      const results = await runBenchmark({
        settings: settings(`http://user:hunter2@127.0.0.1:${echo.port}/v1?token=secret123`, {
          'api-key': 'sk-SECRET-key',
          headers: 'X-Tenant: tenant-secret-456',
          requests: '2',
          concurrency: '1'
        }),
        log
      })
      expect(results.status).toBe('failed')
      const text = JSON.stringify(results) + '\n' + log.text()
      for (const secret of ['sk-SECRET-key', 'tenant-secret-456', 'hunter2', 'secret123']) {
        expect(text).not.toContain(secret)
      }
      expect(results.reason).toContain('***')
      expect(results.settings.request.serverUrl).toBe(
        `http://***@127.0.0.1:${echo.port}/v1?token=***`
      )
      expect(results.server.url).not.toContain('user')
    } finally {
      await echo.close()
    }
  })
})
