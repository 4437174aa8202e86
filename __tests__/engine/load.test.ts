import { describe, expect, it } from '@jest/globals'
import type { ServerResponse } from 'node:http'
import type { LoadSettings } from '../../src/config/settings.js'
import { arrivalSchedule } from '../../src/engine/arrivals.js'
import { type LoadProgress, runLoad } from '../../src/engine/load.js'
import { silentLogger } from '../../src/log.js'
import { startSimServer } from '../../src/sim/server.js'
import { benchSettings, chunk, startHttpServer } from '../helpers/engine.js'

const prompts = ['p0', 'p1', 'p2', 'p3', 'p4'].map(prompt => ({
  prompt,
  promptTokens: 1,
  completionTokens: 1
}))

interface Behaviour {
  tokens: number
  tokenMs: number
  finish: string
  status?: number
  /** Never finish: stream tokens until the client goes away. */
  endless?: boolean
}

/** A loopback server streaming `tokens` chunks `tokenMs` apart, counting requests in flight. */
async function startLoadServer(behaviour: Behaviour) {
  const seen = { inFlight: 0, maxInFlight: 0, prompts: [] as string[] }
  const server = await startHttpServer(async (req, res, body) => {
    seen.prompts.push(JSON.parse(body).messages[1].content)
    seen.inFlight++
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight)
    res.on('close', () => seen.inFlight--)
    if (behaviour.status !== undefined) {
      res.writeHead(behaviour.status, { 'content-type': 'application/json' })
      res.end('{"error":{"message":"overloaded"}}')
      return
    }
    await stream(res, behaviour)
  })
  return { ...server, seen }
}

async function stream(res: ServerResponse, b: Behaviour): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  for (let i = 0; b.endless || i < b.tokens; i++) {
    await new Promise(resolve => setTimeout(resolve, b.tokenMs))
    if (res.destroyed) return
    res.write(`data: ${chunk({ content: 'x' })}\n\n`)
  }
  res.end(
    `data: ${chunk({}, b.finish, { usage: { prompt_tokens: 3, completion_tokens: b.tokens } })}\n\ndata: [DONE]\n\n`
  )
}

async function run(url: string, load: Partial<LoadSettings>, extra: { signal?: AbortSignal } = {}) {
  const started = Date.now()
  const result = await runLoad({
    settings: benchSettings(url, load),
    prompts,
    log: silentLogger,
    ...extra
  })
  return { ...result, tookMs: Date.now() - started }
}

/** Most requests in flight at once, from the records' send and end times. */
function maxOverlap(records: { sentAt: number; endAt: number }[]): number {
  const edges = records.flatMap(r => [
    [r.sentAt, 1],
    [r.endAt, -1]
  ])
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let most = 0
  for (const [, step] of edges) most = Math.max(most, (now += step))
  return most
}

const fast: Behaviour = { tokens: 3, tokenMs: 5, finish: 'stop' }

describe('the closed loop', () => {
  it.each([1, 3, 8])('keeps exactly %i requests in flight at the server', async concurrency => {
    const server = await startLoadServer({ ...fast, tokenMs: 10 })
    try {
      const result = await run(server.url, {
        concurrency,
        requests: concurrency * 4,
        durationMs: 20_000
      })
      expect(server.seen.maxInFlight).toBe(concurrency)
      expect(result.requests).toHaveLength(concurrency * 4)
    } finally {
      await server.close()
    }
  })

  it('sends prompt (iteration mod prompt count), ids in send order, each VU one request at a time', async () => {
    const server = await startLoadServer(fast)
    try {
      const result = await run(server.url, { concurrency: 2, requests: 12, durationMs: 20_000 })
      expect(result.status).toBe('completed')
      expect(result.requests.map(r => r.id)).toEqual([...Array(12).keys()])
      expect(result.requests.map(r => r.promptIndex)).toEqual([...Array(12).keys()].map(i => i % 5))
      expect([...server.seen.prompts].sort()).toEqual(
        result.requests.map(r => `p${r.promptIndex}`).sort()
      )
      for (const vu of [0, 1]) {
        const mine = result.requests.filter(r => r.vu === vu)
        for (let i = 1; i < mine.length; i++)
          expect(mine[i].sentAt).toBeGreaterThanOrEqual(mine[i - 1].endAt)
      }
      expect(
        result.requests.every(
          r => r.error === null && r.tokenChunks === 3 && r.completionTokens === 3
        )
      ).toBe(true)
    } finally {
      await server.close()
    }
  })

  it('sleeps the think time between a VU’s requests', async () => {
    const server = await startLoadServer(fast)
    try {
      const result = await run(server.url, {
        concurrency: 1,
        requests: 4,
        thinkTimeMs: 120,
        durationMs: 20_000
      })
      const gaps = result.requests.slice(1).map((r, i) => r.sentAt - result.requests[i].endAt)
      expect(gaps).toHaveLength(3)
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(115)
    } finally {
      await server.close()
    }
  })

  it('sends the warmup requests first, recorded as warmup and not counted toward `requests`', async () => {
    const server = await startLoadServer(fast)
    try {
      const result = await run(server.url, {
        concurrency: 2,
        warmupRequests: 3,
        requests: 4,
        durationMs: 20_000
      })
      expect(result.requests.map(r => r.phase)).toEqual([
        'warmup',
        'warmup',
        'warmup',
        'measured',
        'measured',
        'measured',
        'measured'
      ])
      const lastWarmupEnd = Math.max(
        ...result.requests.filter(r => r.phase === 'warmup').map(r => r.endAt)
      )
      for (const r of result.requests.filter(r => r.phase === 'measured'))
        expect(r.sentAt).toBeGreaterThanOrEqual(lastWarmupEnd)
    } finally {
      await server.close()
    }
  })

  it('ends at the duration, gives requests in flight the grace period, then cuts them', async () => {
    const server = await startLoadServer({ ...fast, endless: true, tokenMs: 20 })
    try {
      const result = await run(server.url, { concurrency: 3, durationMs: 300, graceMs: 250 })
      expect(result.status).toBe('completed')
      expect(result.requests).toHaveLength(3)
      for (const r of result.requests) {
        expect(r.error?.class).toBe('cut-by-run-end')
        expect(r.endAt).toBeGreaterThanOrEqual(540)
        expect(r.tokenChunks).toBeGreaterThan(5)
      }
      expect(result.tookMs).toBeLessThan(2000)
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(server.seen.inFlight).toBe(0)
    } finally {
      await server.close()
    }
  })

  it('lets a request in flight at the duration end finish within the grace period', async () => {
    const server = await startLoadServer({ tokens: 10, tokenMs: 30, finish: 'stop' })
    try {
      const result = await run(server.url, { concurrency: 1, durationMs: 100, graceMs: 2000 })
      expect(result.requests).toHaveLength(1)
      expect(result.requests[0].error).toBeNull()
      expect(result.requests[0].tokenChunks).toBe(10)
    } finally {
      await server.close()
    }
  })
})

describe('the abort thresholds', () => {
  it('abort a run whose completions are all truncated, naming the threshold and the value', async () => {
    const server = await startLoadServer({ ...fast, finish: 'length' })
    try {
      const result = await run(server.url, {
        concurrency: 2,
        durationMs: 20_000,
        abortAfterMs: 200
      })
      expect(result.status).toBe('aborted')
      expect(result.reason).toMatch(
        /^100% of completions were truncated .* above abort-truncated-rate 80% after 0\.[2-9] s/
      )
      expect(result.tookMs).toBeLessThan(3000)
      expect(result.requests.length).toBeGreaterThan(2)
      expect(result.requests.every(r => r.error === null)).toBe(true)
    } finally {
      await server.close()
    }
  })

  it('abort a run whose requests fail above abort-error-rate', async () => {
    const server = await startLoadServer({ ...fast, status: 503 })
    try {
      const result = await run(server.url, {
        concurrency: 2,
        durationMs: 20_000,
        abortAfterMs: 100,
        abortErrorRate: 0.5
      })
      expect(result.status).toBe('aborted')
      expect(result.reason).toMatch(/^100% of requests failed .* above abort-error-rate 50%/)
      expect(result.requests[0].error).toEqual({ class: 'http', message: 'HTTP 503: overloaded' })
    } finally {
      await server.close()
    }
  })

  it('do not count warmup requests', async () => {
    const server = await startLoadServer({ ...fast, finish: 'length' })
    try {
      const result = await run(server.url, {
        concurrency: 1,
        warmupRequests: 2,
        requests: 1,
        durationMs: 20_000,
        abortTruncatedRate: 1
      })
      expect(result.status).toBe('completed')
    } finally {
      await server.close()
    }
  })
})

describe('cancellation', () => {
  it('returns every record measured so far, in-flight ones cut after the grace period', async () => {
    const server = await startLoadServer({ tokens: 4, tokenMs: 40, finish: 'stop' })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('stop now')), 400)
    try {
      const result = await run(
        server.url,
        { concurrency: 2, durationMs: 20_000, graceMs: 50 },
        { signal: controller.signal }
      )
      expect(result.status).toBe('cancelled')
      expect(result.reason).toBe('cancelled: stop now')
      expect(result.tookMs).toBeLessThan(1500)
      const done = result.requests.filter(r => r.error === null)
      expect(done.length).toBeGreaterThanOrEqual(2)
      expect(
        result.requests
          .filter(r => r.error !== null)
          .every(r => r.error?.class === 'cut-by-run-end')
      ).toBe(true)
    } finally {
      await server.close()
    }
  })
})

describe('the open loop', () => {
  it('draws the same Poisson schedule from the same seed, and another from another seed', () => {
    const a = arrivalSchedule(10, 7, 2000)
    expect(arrivalSchedule(10, 7, 2000)).toEqual(a)
    expect(arrivalSchedule(10, 8, 2000)).not.toEqual(a)
    const gaps = a.map((at, i) => at - (a[i - 1] ?? 0))
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length
    expect(mean).toBeGreaterThan(90)
    expect(mean).toBeLessThan(110)
    // Exponential gaps: the standard deviation is about the mean.
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length)
    expect(sd / mean).toBeGreaterThan(0.85)
    expect(sd / mean).toBeLessThan(1.15)
  })

  it('sends at the scheduled times, recording scheduled and sent times', async () => {
    const server = await startLoadServer(fast)
    try {
      const result = await run(server.url, {
        rate: 40,
        arrivalSeed: 3,
        concurrency: 0,
        requests: 20,
        durationMs: 20_000
      })
      const schedule = arrivalSchedule(40, 3, 20)
      const first = result.requests[0].scheduledAt! - schedule[0]
      expect(result.requests.map(r => r.scheduledAt! - first)).toEqual(
        schedule.map(at => expect.closeTo(at, 6))
      )
      const lateness = result.requests.map(r => r.sentAt - r.scheduledAt!).sort((a, b) => a - b)
      expect(result.requests.every(r => r.vu === null)).toBe(true)
      expect(lateness[0]).toBeGreaterThanOrEqual(0)
      // The median is the engine's own accuracy; the tail also holds a busy machine's hiccups.
      expect(lateness[10]).toBeLessThan(5)
      expect(lateness[19]).toBeLessThan(100)
    } finally {
      await server.close()
    }
  })

  it('with a cap, never has more in flight and shows the wait as lateness', async () => {
    const server = await startLoadServer({ tokens: 2, tokenMs: 40, finish: 'stop' })
    try {
      const result = await run(server.url, {
        rate: 100,
        concurrency: 2,
        requests: 12,
        durationMs: 20_000
      })
      expect(server.seen.maxInFlight).toBe(2)
      const lateness = result.requests.map(r => r.sentAt - r.scheduledAt!)
      expect(Math.max(...lateness.slice(-4))).toBeGreaterThan(100)
    } finally {
      await server.close()
    }
  })

  it('stops sending at the duration', async () => {
    const server = await startLoadServer(fast)
    try {
      const result = await run(server.url, {
        rate: 50,
        arrivalSeed: 1,
        concurrency: 0,
        durationMs: 600
      })
      const expected = arrivalSchedule(50, 1, 200).filter(at => at < 600).length
      expect(Math.abs(result.requests.length - expected)).toBeLessThanOrEqual(1)
    } finally {
      await server.close()
    }
  })
})

describe('every run', () => {
  it('samples the event-loop lag, reports progress and closes its connections', async () => {
    const server = await startLoadServer({ tokens: 5, tokenMs: 20, finish: 'stop' })
    const progress: LoadProgress[] = []
    try {
      const result = await runLoad({
        settings: benchSettings(server.url, { concurrency: 2, durationMs: 500 }),
        prompts,
        log: silentLogger,
        onProgress: p => progress.push(p),
        progressIntervalMs: 100
      })
      expect(result.eventLoopLagMs.length).toBeGreaterThanOrEqual(5)
      expect(progress.length).toBeGreaterThanOrEqual(3)
      const last = progress.at(-1)!
      expect(last.phase).toBe('measured')
      expect(last.ttftMsAvg).toBeGreaterThan(15)
      expect(last.decodeRateAvg).toBeGreaterThan(10)
      expect(last.decodeRateAvg).toBeLessThan(60)
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(server.seen.inFlight).toBe(0)
    } finally {
      await server.close()
    }
  })

  it('throws for zero prompts', async () => {
    await expect(
      runLoad({ settings: benchSettings('http://127.0.0.1:9/v1'), prompts: [], log: silentLogger })
    ).rejects.toThrow(/at least one prompt/)
  })
})

describe('against the simulated server', () => {
  it('a closed loop keeps the configured concurrency and reads every token the server sent', async () => {
    const sim = await startSimServer({ slots: 4, timeScale: 10, outputTokensMean: 30, seed: 5 })
    try {
      const settings = benchSettings(sim.url, { concurrency: 6, requests: 30, durationMs: 30_000 })
      settings.request.maxTokens = 64
      const result = await runLoad({ settings, prompts, log: silentLogger })
      const stats = sim.stats()
      expect(result.status).toBe('completed')
      expect(stats.maxActive + stats.maxQueued).toBeLessThanOrEqual(6)
      expect(stats.maxActive).toBeLessThanOrEqual(4)
      expect(maxOverlap(result.requests)).toBe(6)
      expect(
        result.requests.every(r => r.error === null && r.tokenChunks === r.completionTokens)
      ).toBe(true)
      expect(result.requests.reduce((s, r) => s + r.completionTokens!, 0)).toBe(
        stats.completionTokens
      )
      expect(result.model).toBe('my-model')
    } finally {
      await sim.close()
    }
  })

  it('an open loop records the sim’s errors and disconnects as failed requests without throwing', async () => {
    const sim = await startSimServer({
      timeScale: 20,
      outputTokensMean: 20,
      errorRate: 0.2,
      disconnectRate: 0.2,
      streamErrorRate: 0.2,
      seed: 2
    })
    try {
      const result = await run(sim.url, {
        rate: 60,
        concurrency: 0,
        requests: 40,
        durationMs: 30_000
      })
      const classes = new Set(result.requests.map(r => r.error?.class ?? 'ok'))
      expect(result.requests).toHaveLength(40)
      expect([...classes].sort()).toEqual(['cut-off', 'http', 'ok', 'stream-error'])
    } finally {
      await sim.close()
    }
  })
})
