import { describe, expect, it } from '@jest/globals'
import { fixture, startReplayServer } from '../helpers/replay-server.js'
import { sendOnce } from '../helpers/engine.js'

interface Recorded {
  contentChunks: number
  finishReason: string | null
  usage: { prompt_tokens: number; completion_tokens: number } | null
  timings: Record<string, number> | null
  events: number
}

/** Reads a recorded SSE body on its own, independently of the engine's parser. */
function recorded(name: string): Recorded {
  const events = fixture(`${name}.body.txt`)
    .toString('utf8')
    .split('\n')
    .filter(line => line.startsWith('data: '))
    .map(line => line.slice(6))
  const chunks = events.filter(event => event !== '[DONE]').map(event => JSON.parse(event))
  const last = chunks.at(-1)
  return {
    contentChunks: chunks.filter(c => c.choices?.[0]?.delta?.content).length,
    finishReason: last.choices[0].finish_reason,
    usage: chunks.find(c => c.usage)?.usage ?? null,
    timings: chunks.find(c => c.timings)?.timings ?? null,
    events: events.length
  }
}

const streams = [
  'stream_usage',
  'stream_no_options',
  'stream_max_tokens_1',
  'stream_ignore_eos',
  'stream_stop_eos',
  'prompt_exceeds_context'
]

const splits = [
  { how: 'as recorded', options: {} },
  { how: 'split every 7 bytes', options: { splitEvery: 7, pauseMs: 0 } },
  { how: 'split every 64 bytes', options: { splitEvery: 64, pauseMs: 1 } }
]

describe('replaying the recorded llama-server streams', () => {
  const table = streams.flatMap(name => splits.map(split => ({ name, ...split })))

  it.each(table)('$name ($how) gives exactly its tokens, finish reason and usage', async c => {
    const expected = recorded(c.name)
    const server = await startReplayServer(c.name, c.options)
    try {
      const record = await sendOnce(server.url)
      expect(record.error).toBeNull()
      expect(record.status).toBe(200)
      expect(record.tokenChunks).toBe(expected.contentChunks)
      expect(record.chunks).toBe(expected.events)
      expect(record.finishReason).toBe(expected.finishReason)
      expect(record.completionTokens).toBe(expected.usage?.completion_tokens)
      expect(record.promptTokens).toBe(expected.usage?.prompt_tokens)
      expect(record.completionTokensEstimated).toBe(false)
      expect(record.timings).toEqual(expected.timings)
      expect(record.model).toBe('my-model')
      expect(record.systemFingerprint).toBe('b0-unknown')
      expect(record.interTokenMs).toHaveLength(expected.contentChunks - 1)
    } finally {
      await server.close()
    }
  })

  it('counts the one empty content chunk of stream_stop_eos as no token, while usage counts it', () => {
    // The recording itself: 226 completion tokens, 225 non-empty content chunks.
    const expected = recorded('stream_stop_eos')
    expect([expected.contentChunks, expected.usage?.completion_tokens]).toEqual([225, 226])
  })

  const failures = [
    {
      name: 'invalid_json',
      status: 500,
      message: /^HTTP 500: \[json\.exception\.parse_error\.101\] parse error/
    },
    {
      name: 'invalid_missing_messages',
      status: 500,
      message: /^HTTP 500: .*key 'messages' not found/
    },
    {
      name: 'prompt_exceeds_context_no_ctx_shift_nonstream',
      status: 400,
      message: /^HTTP 400: the request exceeds the available context size/
    },
    { name: 'health_loading', status: 503, message: /^HTTP 503: Loading model$/ }
  ]

  it.each(failures)(
    '$name fails with class http, status $status and the server message',
    async c => {
      const server = await startReplayServer(c.name)
      try {
        const record = await sendOnce(server.url)
        expect(record.status).toBe(c.status)
        expect(record.error?.class).toBe('http')
        expect(record.error?.message).toMatch(c.message)
        expect(record.error!.message.length).toBeLessThanOrEqual(200)
        expect(record.tokenChunks).toBe(0)
      } finally {
        await server.close()
      }
    }
  )

  it('reports a non-streamed JSON completion as an invalid response but keeps its usage', async () => {
    const server = await startReplayServer('nonstream')
    try {
      const record = await sendOnce(server.url)
      expect(record.error?.class).toBe('invalid-response')
      expect(record.error?.message).toMatch(/expected an event stream but got application\/json/)
      expect([record.completionTokens, record.finishReason, record.model]).toEqual([
        32,
        'length',
        'my-model'
      ])
    } finally {
      await server.close()
    }
  })

  it('sends the k6 body with the bearer key and extra headers', async () => {
    const server = await startReplayServer('stream_usage')
    try {
      const { StreamClient } = await import('../../src/engine/client.js')
      const { buildRequestBody } = await import('../../src/engine/request-body.js')
      const { requestSettings } = await import('../helpers/engine.js')
      const settings = requestSettings(server.url, {
        apiKey: 'sk-test',
        headers: { 'x-team': 'a' }
      })
      const client = new StreamClient(settings, { origin: performance.now(), connections: 1 })
      const body = JSON.stringify(buildRequestBody(settings, 'hi'))
      await client.send(body, {
        id: 0,
        vu: 0,
        promptIndex: 0,
        phase: 'measured',
        scheduledAt: null
      }).record
      await client.close()
      expect(server.requests[0].line).toBe('POST /v1/chat/completions HTTP/1.1')
      expect(JSON.parse(server.requests[0].body).messages[1]).toEqual({
        role: 'user',
        content: 'hi'
      })
      expect(server.requests[0].head).toMatch(/authorization: Bearer sk-test/i)
      expect(server.requests[0].head).toMatch(/x-team: a/i)
    } finally {
      await server.close()
    }
  })
})
