import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ErrorClass } from '../../src/engine/record.js'
import { SseParser } from '../../src/engine/sse.js'
import { StreamState } from '../../src/engine/stream-state.js'
import { type TestServer, chunk, sendOnce, startHttpServer, writeSse } from '../helpers/engine.js'

const role = chunk({ role: 'assistant' })
const hello = chunk({ content: 'Hel' })
const world = chunk({ content: 'lo ☃' })
const stop = chunk({}, 'stop')
const usageOnly = JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } })

interface Case {
  name: string
  body: string
  tokens: number
  finish: string | null
  error?: ErrorClass
  message?: string
  completionTokens?: number
  estimated?: boolean
}

const cases: Case[] = [
  {
    name: 'LF line endings',
    body: sse([role, hello, world, stop]) + 'data: [DONE]\n\n',
    tokens: 2,
    finish: 'stop'
  },
  {
    name: 'CRLF line endings',
    body: `data: ${hello}\r\n\r\ndata: ${world}\r\n\r\ndata: ${stop}\r\n\r\ndata: [DONE]\r\n\r\n`,
    tokens: 2,
    finish: 'stop'
  },
  {
    name: 'data: without a space',
    body: `data:${hello}\n\ndata:${stop}\n\ndata:[DONE]\n\n`,
    tokens: 1,
    finish: 'stop'
  },
  {
    name: 'comments and keep-alives between events',
    body: `: keep-alive\n\ndata: ${hello}\n\n:ping\n\ndata: ${stop}\n\n`,
    tokens: 1,
    finish: 'stop'
  },
  {
    name: 'multi-line data joined with a newline',
    body: `data: {"choices":[{"delta":\ndata: {"content":"x"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`,
    tokens: 1,
    finish: 'stop'
  },
  {
    name: 'a role-only chunk and an empty content',
    body: sse([role, chunk({ content: '' }), stop]),
    tokens: 0,
    finish: 'stop'
  },
  {
    name: 'reasoning_content and reasoning',
    body: sse([chunk({ reasoning_content: 'think' }), chunk({ reasoning: 'more' }), hello, stop]),
    tokens: 3,
    finish: 'stop'
  },
  {
    name: 'tool_calls',
    body: sse([
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{' } }] }),
      chunk({ tool_calls: [] }),
      chunk({}, 'tool_calls')
    ]),
    tokens: 1,
    finish: 'tool_calls'
  },
  {
    name: 'a usage-only chunk with empty choices',
    body: sse([hello, world, stop, usageOnly]) + 'data: [DONE]\n\n',
    tokens: 2,
    finish: 'stop',
    completionTokens: 3,
    estimated: false
  },
  {
    name: 'no usage: completion tokens are the token-bearing chunks',
    body: sse([hello, world, stop]),
    tokens: 2,
    finish: 'stop',
    completionTokens: 2,
    estimated: true
  },
  {
    name: 'an `event: error` inside a 200 stream',
    body: sse([hello]) + 'event: error\ndata: {"error":{"message":"slot crashed"}}\n\n',
    tokens: 1,
    finish: null,
    error: 'stream-error',
    message: 'slot crashed'
  },
  {
    name: 'a data error object inside a 200 stream',
    body: sse([hello, '{"error":{"code":500,"message":"KV cache full"}}']),
    tokens: 1,
    finish: null,
    error: 'stream-error',
    message: 'KV cache full'
  },
  {
    name: 'an `error:` line inside a 200 stream',
    body: sse([hello]) + 'error: out of memory\n\n',
    tokens: 1,
    finish: null,
    error: 'stream-error',
    message: 'out of memory'
  },
  {
    name: 'a bare JSON error line inside a 200 stream',
    body: '{"error":{"message":"bad things"}}\n',
    tokens: 0,
    finish: null,
    error: 'stream-error',
    message: 'bad things'
  },
  {
    name: 'a stream that ends without [DONE] or a finish reason',
    body: sse([hello, world]),
    tokens: 2,
    finish: null,
    error: 'cut-off'
  },
  {
    name: 'non-JSON data',
    body: sse([hello, 'not json']),
    tokens: 1,
    finish: null,
    error: 'invalid-response'
  }
]

function sse(events: string[]): string {
  return events.map(event => `data: ${event}\n\n`).join('')
}

let bodies: Map<string, string | Buffer[]>
let server: TestServer

beforeAll(async () => {
  bodies = new Map()
  server = await startHttpServer(async (req, res) => {
    const body = bodies.get(req.headers['x-case'] as string) ?? ''
    await writeSse(res, typeof body === 'string' ? [body] : body)
  })
})

afterAll(async () => server.close())

async function replay(name: string, body: string | Buffer[]) {
  bodies.set(name, body)
  return sendOnce(server.url, { headers: { 'x-case': name } })
}

describe('the streaming client reads SSE', () => {
  it.each(cases)('with $name', async c => {
    const record = await replay(c.name, c.body)
    expect(record.tokenChunks).toBe(c.tokens)
    expect(record.finishReason).toBe(c.finish)
    expect(record.error?.class ?? null).toBe(c.error ?? null)
    if (c.message !== undefined) expect(record.error?.message).toBe(c.message)
    if (c.completionTokens !== undefined) expect(record.completionTokens).toBe(c.completionTokens)
    if (c.estimated !== undefined) expect(record.completionTokensEstimated).toBe(c.estimated)
    expect(record.interTokenMs).toHaveLength(Math.max(0, c.tokens - 1))
  })

  it('stamps tokens with the time their bytes arrived, not when the stream ended', async () => {
    const record = await replay(
      'slow',
      [`data: ${hello}\n\n`, `data: ${world}\n\n`, `data: ${stop}\n\ndata: [DONE]\n\n`].map(s =>
        Buffer.from(s)
      )
    )
    // writeSse pauses between the pieces; three reads, each its own stamp.
    expect(record.firstTokenAt).not.toBeNull()
    expect(record.lastTokenAt! - record.firstTokenAt!).toBeGreaterThan(0.5)
    expect(record.interTokenMs[0]).toBeCloseTo(record.lastTokenAt! - record.firstTokenAt!, 6)
    expect(record.endAt).toBeGreaterThanOrEqual(record.lastTokenAt!)
  })

  it('counts every data event as a chunk, [DONE] and usage-only ones included', async () => {
    const record = await replay('chunks', sse([role, hello, stop, usageOnly]) + 'data: [DONE]\n\n')
    expect(record.chunks).toBe(5)
    expect(record.tokenChunks).toBe(1)
  })

  it('reads a response split across two reads at every byte offset the same way', async () => {
    const body = Buffer.from(
      `: hi\r\n\r\ndata: ${hello}\r\n\r\n` + sse([world, stop]) + 'data: [DONE]\n\n'
    )
    for (let at = 1; at < body.length; at++) {
      const record = await replay(`split-${at}`, [body.subarray(0, at), body.subarray(at)])
      expect([at, record.tokenChunks, record.finishReason, record.error]).toEqual([
        at,
        2,
        'stop',
        null
      ])
    }
  })
})

describe('the SSE parser', () => {
  const body = Buffer.from(
    `: keep-alive\r\n\r\ndata: ${hello}\r\n\r\ndata:${world}\n\nevent: ping\ndata: {"choices":[]}\n\n` +
      `data: ${stop}\n\nerror: late ☃ failure\n`
  )

  function parse(pieces: Buffer[]): { events: string[]; other: string[] } {
    const events: string[] = []
    const other: string[] = []
    const parser = new SseParser({
      onEvent: (data, type) => events.push(`${type ?? 'message'}:${data}`),
      onOtherLine: (field, value) => other.push(`${field}=${value}`)
    })
    for (const piece of pieces) parser.feed(piece)
    parser.end()
    return { events, other }
  }

  it('gives the same events for the body split at every byte offset, even inside a UTF-8 character', () => {
    const whole = parse([body])
    expect(whole.events).toHaveLength(4)
    expect(whole.other).toEqual(['error=late ☃ failure'])
    for (let at = 0; at <= body.length; at++) {
      expect(parse([body.subarray(0, at), body.subarray(at)])).toEqual(whole)
    }
  })

  it('gives the same events for the body fed one byte at a time', () => {
    const bytes = Array.from(body, (_, i) => body.subarray(i, i + 1))
    expect(parse(bytes)).toEqual(parse([body]))
  })

  it('gives each event the stamp of the read it completed in', () => {
    const state = new StreamState()
    const parser = new SseParser(state)
    const text = Buffer.from(`data: ${hello}\n\ndata: ${world}\n\ndata: ${stop}\n\n`)
    const cut = text.indexOf('data: ', 10) + 3
    state.readAt = 10
    parser.feed(text.subarray(0, cut))
    state.readAt = 25
    parser.feed(text.subarray(cut))
    expect([state.firstTokenAt, state.lastTokenAt, state.interTokenMs]).toEqual([10, 25, [15]])
  })
})
