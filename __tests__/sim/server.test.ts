import { readFileSync } from 'node:fs'
import path from 'node:path'

import { afterEach, describe, expect, it } from '@jest/globals'

import { startSimServer, type SimOptions, type SimServer } from '../../src/sim/server.js'
import {
  chatBody,
  contentOf,
  finishReasonOf,
  parseSse,
  post,
  sleep,
  stream,
  usageOf,
  waitFor,
  type Chunk
} from './helpers.js'

const FIXTURES = path.resolve('__tests__/fixtures/llamacpp')
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8')
const recordedChunks = (name: string) =>
  parseSse(fixture(name))
    .map(e => e.json)
    .filter((json): json is Chunk => json !== null)

const servers: SimServer[] = []

/** Fast by default: short answers, 100x real time, no noise. */
async function start(options: Partial<SimOptions> = {}): Promise<SimServer> {
  const server = await startSimServer({
    timeScale: 100,
    jitter: 0,
    outputTokensMean: 20,
    ...options
  })
  servers.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map(server => server.close()))
})

const sortedKeys = (value: object | undefined) => Object.keys(value ?? {}).sort()

describe('llama.cpp stream shapes', () => {
  it('sends content from the first chunk and usage with timings on the finish chunk, as recorded', async () => {
    const sim = await start()
    const result = await stream(sim.url, { max_tokens: 8, stream_options: { include_usage: true } })
    const recorded = recordedChunks('stream_usage.body.txt')

    expect(result.status).toBe(200)
    expect(result.headers.get('server')).toBe('llama.cpp')
    expect(result.headers.get('content-type')).toBe('text/event-stream')
    expect(result.done).toBe(true)
    expect(result.chunks).toHaveLength(9)
    expect(sortedKeys(result.chunks[0])).toEqual(sortedKeys(recorded[0]))
    expect(result.chunks[0].choices?.[0].delta).toEqual({ content: expect.any(String) })
    expect(result.chunks[0].system_fingerprint).toBe('b0-unknown')
    const last = result.chunks[8]
    const recordedLast = recorded[recorded.length - 1]
    expect(sortedKeys(last)).toEqual(sortedKeys(recordedLast))
    expect(sortedKeys(last.timings)).toEqual(sortedKeys(recordedLast.timings))
    expect(last.choices?.[0]).toEqual({ finish_reason: 'length', index: 0, delta: {} })
    expect(last.usage).toEqual({ completion_tokens: 8, prompt_tokens: 15, total_tokens: 23 })
    expect(last.timings?.predicted_n).toBe(8)
    expect(last.timings?.prompt_n).toBe(15)
  })

  it('reports usage even without include_usage, like the recorded server', async () => {
    const sim = await start()
    const result = await stream(sim.url, { max_tokens: 4 })
    expect(usageOf(result.chunks)?.completion_tokens).toBe(4)
    expect(result.chunks.at(-1)?.timings).toBeDefined()
  })

  it('reports simulated milliseconds in timings, not the faster real time', async () => {
    const sim = await start({ timeScale: 1000, decodeMsPerToken: 20, prefillMsPerToken: 1 })
    const result = await stream(sim.url, { max_tokens: 10 })
    const timings = result.chunks.at(-1)?.timings ?? {}
    expect(timings.predicted_ms).toBeCloseTo(200, 6)
    expect(timings.predicted_per_token_ms).toBeCloseTo(20, 6)
    expect(timings.prompt_ms).toBeCloseTo(15, 6)
    expect(result.totalMs).toBeLessThan(150)
  })
})

describe('openai (vLLM) stream shapes', () => {
  it('opens with a role chunk and ends with a usage chunk without choices when asked', async () => {
    const sim = await start({ flavor: 'openai' })
    const result = await stream(sim.url, { max_tokens: 3, stream_options: { include_usage: true } })

    expect(result.headers.get('server')).toBe('uvicorn')
    expect(result.chunks.map(c => c.choices?.[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: expect.any(String) },
      { content: expect.any(String) },
      { content: expect.any(String) },
      {},
      null
    ])
    expect(result.chunks[4].choices?.[0].finish_reason).toBe('length')
    expect(result.chunks[5]).toMatchObject({ choices: [], object: 'chat.completion.chunk' })
    expect(result.chunks[5].usage).toEqual({
      completion_tokens: 3,
      prompt_tokens: 15,
      total_tokens: 18
    })
    expect(
      result.chunks.every(c => c.system_fingerprint === undefined && c.timings === undefined)
    ).toBe(true)
    expect(result.events.at(-1)?.value).toBe('[DONE]')
  })

  it('sends no usage chunk unless include_usage is set', async () => {
    const sim = await start({ flavor: 'openai' })
    const result = await stream(sim.url, { max_tokens: 3 })
    expect(usageOf(result.chunks)).toBeNull()
    expect(result.chunks.at(-1)?.choices?.[0].finish_reason).toBe('length')
    expect(result.done).toBe(true)
  })
})

describe('answers', () => {
  it.each([
    { flavor: 'llamacpp' as const, limit: { max_tokens: 5 } },
    { flavor: 'openai' as const, limit: { max_completion_tokens: 5 } },
    {
      flavor: 'llamacpp' as const,
      limit: { max_tokens: 5000, ignore_eos: true, max_completion_tokens: 5 }
    }
  ])('ends by length at the token limit $limit ($flavor)', async ({ flavor, limit }) => {
    const sim = await start({ flavor, outputTokensMean: 200 })
    const result = await stream(sim.url, { ...limit, stream_options: { include_usage: true } })
    expect(finishReasonOf(result.chunks)).toBe('length')
    expect(usageOf(result.chunks)?.completion_tokens).toBe(5)
  })

  it.each(['llamacpp', 'openai'] as const)(
    'ends by stop at the natural length, one content chunk per counted token (%s)',
    async flavor => {
      const sim = await start({ flavor, outputTokensMean: 30 })
      const result = await stream(sim.url, {
        max_tokens: 100000,
        stream_options: { include_usage: true }
      })
      const contentChunks = result.chunks.filter(c => c.choices?.[0]?.delta?.content)
      expect(finishReasonOf(result.chunks)).toBe('stop')
      expect(usageOf(result.chunks)?.completion_tokens).toBe(contentChunks.length)
    }
  )

  it('gives the same answer to the same prompt and seed, on a fresh server too', async () => {
    const first = await start({ seed: 1, outputTokensMean: 40 })
    const second = await start({ seed: 99, outputTokensMean: 40 })
    const runs = await Promise.all([
      stream(first.url, { seed: 42 }),
      stream(first.url, { seed: 42 }),
      stream(second.url, { seed: 42 })
    ])
    const answers = runs.map(run => contentOf(run.chunks))
    expect(answers[1]).toBe(answers[0])
    expect(answers[2]).toBe(answers[0])
    const otherSeeds = await Promise.all([1, 2, 3, 4].map(seed => stream(first.url, { seed })))
    const lengths = new Set(otherSeeds.map(run => usageOf(run.chunks)?.completion_tokens))
    expect(lengths.size).toBeGreaterThan(1)
  })

  it('echoes the requested model and falls back to modelId', async () => {
    const sim = await start({ modelId: 'sim-7b' })
    const named = await stream(sim.url, { max_tokens: 1 })
    const unnamed = await stream(
      sim.url,
      {},
      {
        body: JSON.stringify({
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
          max_tokens: 1
        })
      }
    )
    expect(named.chunks[0].model).toBe('my-model')
    expect(unnamed.chunks[0].model).toBe('sim-7b')
  })

  it.each(['llamacpp', 'openai'] as const)(
    'answers a non-streamed request with a chat.completion (%s)',
    async flavor => {
      const sim = await start({ flavor })
      const res = await post(sim.url, chatBody({ max_tokens: 6 }))
      const body = (await res.json()) as Chunk
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(body.object).toBe('chat.completion')
      expect(body.choices?.[0]).toMatchObject({
        finish_reason: 'length',
        message: { role: 'assistant' }
      })
      expect(body.choices?.[0].message?.content?.length).toBeGreaterThan(0)
      expect(body.usage).toEqual({ completion_tokens: 6, prompt_tokens: 15, total_tokens: 21 })
      if (flavor === 'llamacpp') {
        const recorded = JSON.parse(fixture('nonstream.response.txt')) as Chunk
        expect(sortedKeys(body)).toEqual(sortedKeys(recorded))
        expect(sortedKeys(body.timings)).toEqual(sortedKeys(recorded.timings))
      } else {
        expect(body.timings).toBeUndefined()
      }
    }
  )
})

describe('health, models and loading', () => {
  it('answers 503 Loading model everywhere while loading, then 200', async () => {
    const sim = await start({ loadingMs: 400, timeScale: 1 })
    const root = sim.url.replace(/\/v1$/, '')
    const loading = await fetch(`${root}/health`)
    expect(loading.status).toBe(503)
    expect(await loading.text()).toBe(fixture('health_loading.response.txt').trim())
    expect((await fetch(`${sim.url}/models`)).status).toBe(503)
    expect((await post(sim.url, chatBody({ max_tokens: 1 }))).status).toBe(503)

    await sleep(500)
    const ready = await fetch(`${root}/health`)
    expect(ready.status).toBe(200)
    expect(await ready.text()).toBe(fixture('health.response.txt').trim())
    expect((await fetch(`${sim.url}/health`)).status).toBe(200)
    expect((await post(sim.url, chatBody({ max_tokens: 1 }))).status).toBe(200)
  })

  it('lists the model in the recorded /v1/models shape', async () => {
    const sim = await start({ modelId: 'sim-7b' })
    const body = (await (await fetch(`${sim.url}/models`)).json()) as { data: object[] }
    const recorded = JSON.parse(fixture('models.response.txt')) as { data: object[] }
    expect(body).toMatchObject({
      object: 'list',
      data: [{ id: 'sim-7b', object: 'model', owned_by: 'llamacpp' }]
    })
    expect(sortedKeys(body.data[0])).toEqual(sortedKeys(recorded.data[0]))
  })

  it('answers 404 with a JSON error for unknown paths', async () => {
    const sim = await start()
    const res = await fetch(`${sim.url}/embeddings`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { code: 404 } })
  })
})

describe('continuous batching', () => {
  it('queues requests beyond the slots and runs at most `slots` at once', async () => {
    const sim = await start({ slots: 2, timeScale: 20 })
    const results = await Promise.all(
      Array.from({ length: 6 }, () => stream(sim.url, { max_tokens: 10 }))
    )
    expect(results.every(r => finishReasonOf(r.chunks) === 'length')).toBe(true)
    const stats = sim.stats()
    expect(stats.maxActive).toBe(2)
    expect(stats.maxQueued).toBeGreaterThan(0)
    expect(stats).toMatchObject({ requests: 6, completed: 6, errors: 0, active: 0, queued: 0 })
  })

  it('slows each sequence down as more sequences share the batch', async () => {
    const sim = await start({
      slots: 4,
      timeScale: 10,
      batchSlowdownPerSeq: 1,
      prefillMsPerToken: 0
    })
    const decodeOf = (r: { chunks: Chunk[] }) =>
      r.chunks.at(-1)?.timings?.predicted_per_token_ms ?? 0
    const alone = await stream(sim.url, { max_tokens: 30, ignore_eos: true })
    const together = await Promise.all(
      Array.from({ length: 4 }, () => stream(sim.url, { max_tokens: 30, ignore_eos: true }))
    )
    expect(decodeOf(alone)).toBeCloseTo(15, 6)
    for (const r of together) expect(decodeOf(r)).toBeGreaterThan(2 * 15)
    expect(Math.min(...together.map(r => r.totalMs))).toBeGreaterThan(2 * alone.totalMs)
  })
})

describe('regression knobs', () => {
  const longPrompt = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ')
  const body = JSON.stringify({
    messages: [{ role: 'user', content: longPrompt }],
    stream: true,
    max_tokens: 80,
    ignore_eos: true
  })

  /**
   * Time to first token and decode time (first token to end), the least of a few sequential runs:
   * a loaded machine only ever adds delay, so the minimum is the measure least hurt by it.
   */
  async function measure(options: Partial<SimOptions>) {
    const sim = await start({ timeScale: 5, ...options })
    const ttft: number[] = []
    const decode: number[] = []
    for (let i = 0; i < 5; i++) {
      const r = await stream(sim.url, {}, { body })
      ttft.push(r.firstContentMs ?? NaN)
      decode.push(r.totalMs - (r.firstContentMs ?? NaN))
    }
    return { ttft: Math.min(...ttft), decode: Math.min(...decode) }
  }

  it('doubles time to first token and decode time with slowdown 2', async () => {
    const base = await measure({})
    const slow = await measure({ slowdown: 2 })
    expect(slow.ttft / base.ttft).toBeGreaterThan(1.6)
    expect(slow.ttft / base.ttft).toBeLessThan(2.5)
    expect(slow.decode / base.decode).toBeGreaterThan(1.6)
    expect(slow.decode / base.decode).toBeLessThan(2.5)
  })

  it('doubles decode time but not time to first token with decodeSlowdown 2 at timeScale 10', async () => {
    const base = await measure({ timeScale: 10 })
    const slow = await measure({ timeScale: 10, decodeSlowdown: 2 })
    expect(slow.decode / base.decode).toBeGreaterThan(1.7)
    expect(slow.decode / base.decode).toBeLessThan(3)
    expect(slow.ttft / base.ttft).toBeLessThan(1.5)
  })

  it('slows only time to first token with prefillSlowdown', async () => {
    const base = await measure({})
    const slow = await measure({ prefillSlowdown: 2 })
    expect(slow.ttft / base.ttft).toBeGreaterThan(1.6)
    expect(slow.decode / base.decode).toBeLessThan(1.3)
  })
})

describe('faults', () => {
  it.each([
    { flavor: 'llamacpp' as const, status: 503 as const, type: 'unavailable_error' },
    { flavor: 'llamacpp' as const, status: 500 as const, type: 'server_error' },
    { flavor: 'openai' as const, status: 429 as const, type: 'RateLimitError' }
  ])(
    'answers $status with a JSON error body when errorRate is 1 ($flavor)',
    async ({ flavor, status, type }) => {
      const sim = await start({ flavor, errorRate: 1, errorStatus: status })
      const res = await post(sim.url, chatBody({ stream: true }))
      expect(res.status).toBe(status)
      expect(await res.json()).toMatchObject({
        error: { code: status, type, message: expect.any(String) }
      })
      expect(res.headers.get('retry-after')).toBe(status === 429 ? '1' : null)
      expect(sim.stats()).toMatchObject({ requests: 1, errors: 1, completed: 0 })
    }
  )

  it('fails about errorRate of the requests', async () => {
    const sim = await start({ errorRate: 0.5, seed: 3 })
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        post(sim.url, chatBody({ max_tokens: 1 })).then(r => r.status)
      )
    )
    const failed = statuses.filter(status => status !== 200).length
    expect(failed).toBeGreaterThan(8)
    expect(failed).toBeLessThan(32)
  })

  it('cuts the stream mid-way with disconnectRate 1 and keeps serving', async () => {
    const sim = await start({ disconnectRate: 1, outputTokensMean: 40 })
    const result = await stream(sim.url, { max_tokens: 40 })
    expect(result.status).toBe(200)
    expect(result.done).toBe(false)
    expect(finishReasonOf(result.chunks)).toBeNull()
    expect(result.chunks.length).toBeLessThan(40)
    expect(sim.stats()).toMatchObject({ disconnects: 1, errors: 1, completed: 0, active: 0 })
    expect((await fetch(`${sim.url}/health`)).status).toBe(200)
  })

  it('sends a llama.cpp `error:` event inside the 200 stream with streamErrorRate 1', async () => {
    const sim = await start({ streamErrorRate: 1 })
    const result = await stream(sim.url, { max_tokens: 40 })
    expect(result.status).toBe(200)
    const last = result.events.at(-1)
    expect(last?.field).toBe('error')
    expect(last?.json).toEqual({ code: 500, message: expect.any(String), type: 'server_error' })
    expect(result.done).toBe(false)
    expect(sim.stats()).toMatchObject({ streamErrors: 1, errors: 1 })
  })

  it('sends a vLLM `data: {"error": ...}` event then [DONE] with streamErrorRate 1', async () => {
    const sim = await start({ flavor: 'openai', streamErrorRate: 1 })
    const result = await stream(sim.url, { max_tokens: 40 })
    const errorEvent = result.events.at(-2)
    expect(errorEvent?.field).toBe('data')
    expect(errorEvent?.json?.error).toMatchObject({ code: 500, type: 'InternalServerError' })
    expect(result.events.at(-1)?.value).toBe('[DONE]')
    expect(finishReasonOf(result.chunks)).toBeNull()
  })

  it.each([
    { flavor: 'llamacpp' as const, status: 500, type: 'server_error', message: 'parse error' },
    { flavor: 'openai' as const, status: 400, type: 'BadRequestError', message: 'JSON' }
  ])(
    'answers invalid JSON with $status and a JSON error ($flavor)',
    async ({ flavor, status, type, message }) => {
      const sim = await start({ flavor })
      const res = await post(sim.url, fixture('invalid_json.request.json'))
      expect(res.status).toBe(status)
      const body = (await res.json()) as Chunk
      expect(body.error).toMatchObject({ code: status, type })
      expect(body.error?.message).toContain(message)
    }
  )

  it.each([
    {
      body: fixture('invalid_missing_messages.request.json'),
      status: 500,
      message: fixture('invalid_missing_messages.response.txt')
    },
    { body: chatBody({ max_tokens: 0 }), status: 400, message: null },
    { body: '[1,2]', status: 400, message: null }
  ])('rejects a malformed request with $status', async ({ body, status, message }) => {
    const sim = await start()
    const res = await post(sim.url, body)
    expect(res.status).toBe(status)
    const text = await res.text()
    if (message) expect(text).toBe(message.trim())
    else expect(JSON.parse(text)).toMatchObject({ error: { code: status } })
  })
})

describe('authentication', () => {
  it.each([
    { headers: {} as Record<string, string>, status: 401 },
    { headers: { Authorization: 'Bearer wrong' }, status: 401 },
    { headers: { Authorization: 'secret' }, status: 401 },
    { headers: { Authorization: 'Bearer secret' }, status: 200 }
  ])('answers $status to a request with headers $headers', async ({ headers, status }) => {
    const sim = await start({ apiKey: 'secret' })
    const res = await post(sim.url, chatBody({ max_tokens: 1 }), { headers })
    expect(res.status).toBe(status)
    if (status === 401) expect(await res.json()).toMatchObject({ error: { code: 401 } })
  })

  it('leaves /health open when an API key is set', async () => {
    const sim = await start({ apiKey: 'secret' })
    expect((await fetch(sim.url.replace(/\/v1$/, '/health'))).status).toBe(200)
    expect((await fetch(`${sim.url}/models`)).status).toBe(401)
  })
})

describe('client aborts', () => {
  it('frees the slot of a running request when the client goes away', async () => {
    const sim = await start({ slots: 1, timeScale: 1, outputTokensMean: 10 })
    const controller = new AbortController()
    const res = await post(
      sim.url,
      chatBody({ stream: true, max_tokens: 100000, ignore_eos: true }),
      {
        signal: controller.signal
      }
    )
    const reader = res.body!.getReader()
    await reader.read()
    expect(sim.stats().active).toBe(1)
    controller.abort()
    await waitFor(() => expect(sim.stats()).toMatchObject({ active: 0, aborted: 1 }))
    const next = await stream(sim.url, { max_tokens: 2 })
    expect(finishReasonOf(next.chunks)).toBe('length')
  })

  it('drops a queued request whose client went away', async () => {
    const sim = await start({ slots: 1, timeScale: 1 })
    const holder = new AbortController()
    const waiter = new AbortController()
    const body = chatBody({ stream: true, max_tokens: 100000, ignore_eos: true })
    await post(sim.url, body, { signal: holder.signal })
    await post(sim.url, body, { signal: waiter.signal })
    await waitFor(() => expect(sim.stats()).toMatchObject({ active: 1, queued: 1 }))
    waiter.abort()
    await waitFor(() => expect(sim.stats()).toMatchObject({ active: 1, queued: 0, aborted: 1 }))
    holder.abort()
    await waitFor(() => expect(sim.stats()).toMatchObject({ active: 0, aborted: 2 }))
  })

  it('closes promptly with requests still running', async () => {
    const sim = await startSimServer({ timeScale: 1 })
    const pending = stream(sim.url, { max_tokens: 100000, ignore_eos: true })
    await sleep(50)
    const started = performance.now()
    await sim.close()
    const result = await pending
    expect(performance.now() - started).toBeLessThan(1000)
    expect(result.done).toBe(false)
  })
})
