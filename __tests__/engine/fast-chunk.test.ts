/**
 * The fast path for plain token chunks (src/engine/fast-chunk.ts) against the full parse: every
 * stream is fed, in the same pieces and with the same read stamps, to a parser that may skip
 * parsing and to one that decodes and parses every event; their RequestRecords must be equal.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readdirSync } from 'node:fs'
import { request } from 'undici'
import { type RequestMeta, streamRecord } from '../../src/engine/client.js'
import { PlainChunkTemplate, stringBodyEnd } from '../../src/engine/fast-chunk.js'
import type { RequestRecord } from '../../src/engine/record.js'
import { SseParser, type SseSink } from '../../src/engine/sse.js'
import { StreamState } from '../../src/engine/stream-state.js'
import { type SimServer, startSimServer } from '../../src/sim/server.js'
import { FIXTURES, fixture } from '../helpers/replay-server.js'

const META: RequestMeta = { id: 0, vu: 0, promptIndex: 0, phase: 'measured', scheduledAt: null }

/** The state as a sink without the bytes path: every event is decoded and parsed. */
function textOnly(state: StreamState): SseSink {
  return {
    onEvent: (data, eventType) => state.onEvent(data, eventType),
    onOtherLine: (field, value, line) => state.onOtherLine(field, value, line)
  }
}

interface Run {
  record: RequestRecord
  fastChunks: number
}

/** Feeds the pieces, the i-th stamped as read at i + 1 ms, and ends the body. */
function run(pieces: Buffer[], fast: boolean): Run {
  const state = new StreamState()
  const parser = new SseParser(fast ? state : textOnly(state))
  pieces.forEach((piece, i) => {
    if (state.error !== null) return // the client stops reading at the first error
    state.readAt = i + 1
    parser.feed(piece)
  })
  if (state.error === null) {
    parser.end()
    state.endOfBody()
  }
  return {
    record: streamRecord(META, state, 200, 0, pieces.length + 1),
    fastChunks: state.fastChunks
  }
}

/** Both ways, asserting equal records; returns the fast run. */
function differential(pieces: Buffer[]): Run {
  const fast = run(pieces, true)
  const full = run(pieces, false)
  expect(full.fastChunks).toBe(0)
  expect(fast.record).toEqual(full.record)
  return fast
}

function split(body: Buffer, every: number): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0; at < body.length; at += every) pieces.push(body.subarray(at, at + every))
  return pieces
}

/** Cuts at pseudo-random places (a fixed seed), like reads of a busy socket. */
function splitRandomly(body: Buffer, seed: number): Buffer[] {
  const pieces: Buffer[] = []
  let x = seed
  for (let at = 0; at < body.length;) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    const size = 1 + (x % 700)
    pieces.push(body.subarray(at, at + size))
    at += size
  }
  return pieces
}

const SPLITS: { how: string; pieces: (body: Buffer) => Buffer[] }[] = [
  { how: 'whole', pieces: body => [body] },
  { how: 'every byte', pieces: body => split(body, 1) },
  { how: 'every 7 bytes', pieces: body => split(body, 7) },
  { how: 'every 64 bytes', pieces: body => split(body, 64) },
  { how: 'at random', pieces: body => splitRandomly(body, 42) }
]

describe('the fast path gives the records of the full parse', () => {
  const recordings = readdirSync(FIXTURES).filter(name => name.endsWith('.body.txt'))
  const table = recordings.flatMap(name => SPLITS.map(s => ({ name, ...s })))

  it.each(table)('for the recording $name, split $how', ({ name, pieces }) => {
    const fast = differential(pieces(fixture(name)))
    expect(fast.record.error).toBeNull()
    expect(fast.record.tokenChunks).toBeGreaterThan(0)
  })

  it('skips parsing almost every token chunk of a recording read whole', () => {
    const fast = differential([fixture('stream_ignore_eos.body.txt')])
    // The first chunk is parsed and makes the template; only the first is not fast.
    expect(fast.fastChunks).toBe(fast.record.tokenChunks - 1)
  })

  describe('for the simulated server', () => {
    let servers: Record<'llamacpp' | 'openai', SimServer>

    beforeAll(async () => {
      const common = { timeScale: 1000, outputTokensMean: 60, streamErrorRate: 0.2, seed: 3 }
      servers = {
        llamacpp: await startSimServer({ ...common, flavor: 'llamacpp' }),
        openai: await startSimServer({ ...common, flavor: 'openai' })
      }
    })

    afterAll(async () => {
      await Promise.all(Object.values(servers).map(s => s.close()))
    })

    /** One response body, in the pieces the socket gave. */
    async function reads(server: SimServer, body: object): Promise<Buffer[]> {
      const res = await request(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
      const pieces: Buffer[] = []
      for await (const piece of res.body) pieces.push(Buffer.from(piece as Buffer))
      return pieces
    }

    const cases = (['llamacpp', 'openai'] as const).flatMap(flavor =>
      [false, true].map(includeUsage => ({ flavor, includeUsage }))
    )

    it.each(cases)(
      '$flavor (include_usage $includeUsage), as read and split',
      async ({ flavor, includeUsage }) => {
        let fastChunks = 0
        for (let i = 0; i < 12; i++) {
          const pieces = await reads(servers[flavor], {
            model: 'm',
            messages: [{ role: 'user', content: `tell me a story, number ${i}` }],
            stream: true,
            max_tokens: 20 + 10 * i,
            ...(includeUsage ? { stream_options: { include_usage: true } } : {})
          })
          fastChunks += differential(pieces).fastChunks
          const body = Buffer.concat(pieces)
          for (const s of SPLITS) differential(s.pieces(body))
        }
        expect(fastChunks).toBeGreaterThan(0)
      }
    )
  })
})

/** llama.cpp's layout of a chunk, with the delta and finish reason as raw JSON text. */
function llama(delta: string, finish = 'null', extra = ''): string {
  return (
    `{"choices":[{"finish_reason":${finish},"index":0,"delta":${delta}}],"created":1,` +
    `"id":"chatcmpl-x","model":"my-model","system_fingerprint":"fp","object":"chat.completion.chunk"${extra}}`
  )
}

const FINISH = llama('{}', '"stop"', ',"usage":{"completion_tokens":9,"prompt_tokens":4}')

interface Tricky {
  name: string
  /** Events between two plain chunks (the first makes the template) and the finish chunk. */
  events: string[]
  /** How many of the stream's chunks the fast path counts when the stream is read whole. */
  fast: number
}

const tricky: Tricky[] = [
  { name: 'plain chunks', events: [llama('{"content":"b"}')], fast: 2 },
  { name: 'empty content', events: [llama('{"content":""}')], fast: 1 },
  { name: 'a blank content', events: [llama('{"content":" "}')], fast: 2 },
  { name: '"usage" as text', events: [llama('{"content":"say \\"usage\\": 1"}')], fast: 2 },
  {
    name: 'a chunk end as text',
    events: [llama('{"content":"\\"}}],\\"usage\\":{\\"completion_tokens\\":99}}"}')],
    fast: 2
  },
  {
    name: 'escaped quotes and backslashes',
    events: ['\\"', '\\\\', '\\\\\\"', 'a\\\\\\\\'].map(t => llama(`{"content":"${t}"}`)),
    fast: 5
  },
  {
    name: 'the simple escapes',
    events: [llama('{"content":"\\/\\b\\f\\n\\r\\t"}')],
    fast: 2
  },
  {
    name: 'unicode escapes, a surrogate pair and a lone surrogate',
    events: ['\\u00e9', '\\ud83d\\ude00', '\\uD800', '\\u00E9x'].map(t =>
      llama(`{"content":"${t}"}`)
    ),
    fast: 5
  },
  { name: 'raw UTF-8', events: [llama('{"content":"☃ é 日本"}')], fast: 2 },
  { name: 'a short unicode escape', events: [llama('{"content":"\\u12"}')], fast: 0 },
  { name: 'a non-hex unicode escape', events: [llama('{"content":"\\u12g4"}')], fast: 0 },
  { name: 'an unknown escape', events: [llama('{"content":"\\x41"}')], fast: 0 },
  { name: 'a raw tab in the content', events: [llama('{"content":"a\tb"}')], fast: 0 },
  { name: 'a finish reason with content', events: [llama('{"content":"x"}', '"stop"')], fast: 1 },
  {
    name: 'a finish reason with content and usage',
    events: [llama('{"content":"x"}', '"length"', ',"usage":{"completion_tokens":3}')],
    fast: 1
  },
  {
    name: 'usage on a content chunk',
    events: [llama('{"content":"x"}', 'null', ',"usage":{}')],
    fast: 1
  },
  {
    name: 'timings on a content chunk',
    events: [llama('{"content":"x"}', 'null', ',"timings":{"predicted_n":1}')],
    fast: 1
  },
  {
    name: 'an error on a content chunk',
    events: [llama('{"content":"x"}', 'null', ',"error":{"message":"boom"}')],
    fast: 0
  },
  {
    name: 'reasoning_content, reasoning and both with content',
    events: [
      llama('{"reasoning_content":"think"}'),
      llama('{"reasoning":"more"}'),
      llama('{"content":"x","reasoning_content":"y"}'),
      llama('{"reasoning_content":"","content":"x"}')
    ],
    fast: 1
  },
  {
    name: 'tool calls',
    events: [
      llama('{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}'),
      llama('{"content":"x","tool_calls":[]}')
    ],
    fast: 1
  },
  {
    name: 'role and content in one chunk',
    events: [
      llama('{"role":"assistant","content":"x"}'),
      llama('{"content":"x","role":"assistant"}')
    ],
    fast: 1
  },
  {
    name: 'a null role next to the content',
    events: [llama('{"content":"x","role":null}')],
    fast: 0
  },
  {
    name: 'two choices',
    events: [
      '{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"}},' +
        '{"finish_reason":"stop","index":1,"delta":{"content":"b"}}],"created":1}',
      '{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"}},{"index":1}]}'
    ],
    fast: 1
  },
  {
    name: 'a duplicate content key',
    events: [llama('{"content":"x","content":""}'), llama('{"content":"","content":"x"}')],
    fast: 1
  },
  {
    name: 'a second content elsewhere',
    events: [llama('{"content":"x"}', 'null', ',"content":"y"')],
    fast: 1
  },
  {
    name: 'whitespace around the colon',
    events: [llama('{"content": "x"}'), llama('{ "content" : "x" }')],
    fast: 0
  },
  { name: 'an error object', events: ['{"error":{"message":"KV cache full"}}'], fast: 0 },
  { name: 'truncated JSON', events: [llama('{"content":"x"}').slice(0, -1)], fast: 0 },
  { name: 'an early [DONE]', events: ['[DONE]', llama('{"content":"late"}')], fast: 2 },
  { name: 'a JSON string', events: ['"{\\"content\\":\\"x\\"}"'], fast: 0 }
]

function stream(events: string[]): string {
  return events.map(event => `data: ${event}\n\n`).join('')
}

describe('the fast path on hand-written events', () => {
  it.each(tricky)('gives the full parse its record with $name', c => {
    const plain = llama('{"content":"a"}')
    const body = Buffer.from(stream([plain, ...c.events, plain, FINISH, '[DONE]']))
    const runs = SPLITS.map(s => differential(s.pieces(body)))
    expect(runs[0].fastChunks).toBe(c.fast)
  })

  it('uses a layout with spaces once it has parsed one chunk of it', () => {
    const spaced = (t: string) => `{"choices": [{"index": 0, "delta": {"content": "${t}"}}]}`
    const body = Buffer.from(stream([spaced('a'), spaced('b'), spaced('c'), FINISH]))
    expect(differential([body]).fastChunks).toBe(2)
  })

  it('makes no template when "content" appears twice in the first chunk', () => {
    const plain = llama('{"content":"a"}').replace('my-model', '\\"content\\" \\"content')
    const body = Buffer.from(stream([plain, plain, FINISH]))
    expect(differential([body]).fastChunks).toBe(0)
  })

  it('gives up on templates for chunks that differ outside the content every time', () => {
    const nonce = (i: number) => llama('{"content":"a"}', 'null', `,"obfuscation":"${i}"`)
    const body = Buffer.from(stream([...Array.from({ length: 10 }, (_, i) => nonce(i)), FINISH]))
    expect(differential([body]).fastChunks).toBe(0)
  })

  it('reads CRLF, no space after data:, comments and typed events the same way', () => {
    const plain = llama('{"content":"a"}')
    const body = Buffer.from(
      `data: ${plain}\r\n\r\ndata:${plain}\n\n: keep-alive\n\ndata: ${plain}\r\n\r\n` +
        `event: message\ndata: ${plain}\n\n` +
        `data: {"choices":[{"delta":\ndata: {"content":"x"}}]}\n\n` +
        `id: 7\ndata: ${plain}\n\ndata: ${FINISH}\n\ndata: [DONE]`
    )
    for (const s of SPLITS) differential(s.pieces(body))
    expect(differential([body]).fastChunks).toBe(3)
  })

  it('stops at an `event: error` between plain chunks', () => {
    const plain = llama('{"content":"a"}')
    const body = Buffer.from(
      `${stream([plain, plain])}event: error\ndata: {"message":"gone"}\n\n${stream([plain])}`
    )
    for (const s of SPLITS)
      expect(differential(s.pieces(body)).record.error?.class).toBe('stream-error')
  })
})

describe('a JSON string body', () => {
  const cases: [string, number][] = [
    ['abc"', 3],
    ['"', 0],
    ['a\\"b"', 4],
    ['\\\\"', 2],
    ['\\u00e9"', 6],
    ['\\u00e"', -1],
    ['\\q"', -1],
    ['a\nb"', -1],
    ['abc', -1],
    ['\\', -1]
  ]

  it.each(cases)('%j ends at %d', (text, end) => {
    expect(stringBodyEnd(text, 0)).toBe(end)
  })

  it('makes no template of a chunk whose content key is escaped', () => {
    expect(PlainChunkTemplate.from(llama('{"cont\\u0065nt":"x"}'))).toBeNull()
  })
})
