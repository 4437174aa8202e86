import { describe, expect, it } from '@jest/globals'
import { createServer } from 'node:net'
import { UserError } from '../../src/errors.js'
import { waitForServer } from '../../src/engine/readiness.js'
import { runLoad } from '../../src/engine/load.js'
import { MemoryLogger, silentLogger } from '../../src/log.js'
import { startSimServer } from '../../src/sim/server.js'
import { benchSettings, requestSettings, startHttpServer } from '../helpers/engine.js'
import { startReplayServer } from '../helpers/replay-server.js'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  return typeof address === 'object' && address !== null ? address.port : 0
}

describe('waitForServer', () => {
  it('waits through the recorded 503 "Loading model" and returns the models and Server header', async () => {
    let calls = 0
    const server = await startReplayServer(() => (++calls <= 2 ? 'models_loading' : 'models'))
    try {
      const facts = await waitForServer(requestSettings(server.url), 10_000, silentLogger)
      expect(calls).toBe(3)
      expect(facts).toEqual({
        url: server.url,
        models: ['my-model'],
        model: null,
        systemFingerprint: null,
        software: 'llama.cpp'
      })
    } finally {
      await server.close()
    }
  })

  it('falls back to the root /health (recorded 503, then 200) when /models does not exist', async () => {
    const paths: string[] = []
    const server = await startReplayServer(path => {
      paths.push(path)
      if (path === '/v1/models') return null
      return paths.filter(p => p === '/health').length <= 1 ? 'health_loading' : 'health'
    })
    try {
      const facts = await waitForServer(requestSettings(server.url), 10_000, silentLogger)
      expect(paths).toEqual(['/v1/models', '/health', '/v1/models', '/health'])
      expect(facts.models).toEqual([])
      expect(facts.software).toBe('llama.cpp')
    } finally {
      await server.close()
    }
  })

  it('waits while the connection is refused, until the server starts listening', async () => {
    const port = await freePort()
    let sim: Awaited<ReturnType<typeof startSimServer>> | undefined
    const later = setTimeout(
      async () => (sim = await startSimServer({ port, loadingMs: 300 })),
      700
    )
    try {
      const started = Date.now()
      const facts = await waitForServer(
        requestSettings(`http://127.0.0.1:${port}/v1`),
        10_000,
        silentLogger
      )
      expect(Date.now() - started).toBeGreaterThanOrEqual(900)
      expect(facts.models).toEqual(['my-model'])
    } finally {
      clearTimeout(later)
      await sim?.close()
    }
  })

  it('times out naming the URL, the timeout and the last thing seen', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1`
    const waiting = waitForServer(requestSettings(url), 1200, silentLogger)
    await expect(waiting).rejects.toThrow(UserError)
    await expect(waiting).rejects.toThrow(
      `${url} was not ready within 1 s; last seen: connection refused`
    )
  })

  it.each([401, 403])(
    'stops at once on %i with a message about the API key that does not show it',
    async status => {
      const server = await startHttpServer((req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end('{"error":{"message":"Invalid API Key"}}')
      })
      try {
        const waiting = waitForServer(
          requestSettings(server.url, { apiKey: 'sk-secret' }),
          10_000,
          silentLogger
        )
        await expect(waiting).rejects.toThrow(/API key/)
        await expect(waiting).rejects.not.toThrow(/sk-secret/)
      } finally {
        await server.close()
      }
    }
  )

  it('logs how long it has been waiting', async () => {
    const log = new MemoryLogger()
    const url = `http://127.0.0.1:${await freePort()}/v1`
    await expect(waitForServer(requestSettings(url), 6000, log)).rejects.toThrow(UserError)
    expect(log.text('info')).toMatch(
      new RegExp(`waiting for ${url} \\(connection refused\\), 5 s of 6 s`)
    )
  }, 15_000)
})

describe('a server that becomes ready late', () => {
  it('is waited for, then benchmarked without a failed request', async () => {
    const sim = await startSimServer({ loadingMs: 600, timeScale: 20, outputTokensMean: 20 })
    try {
      const settings = benchSettings(sim.url, { concurrency: 2, requests: 6 })
      settings.request.maxTokens = 40
      await waitForServer(settings.request, 10_000, silentLogger)
      const result = await runLoad({
        settings,
        prompts: [{ prompt: 'hi', promptTokens: 1, completionTokens: 1 }],
        log: silentLogger
      })
      expect(result.status).toBe('completed')
      expect(result.requests.map(r => r.error)).toEqual(Array(6).fill(null))
    } finally {
      await sim.close()
    }
  })
})
