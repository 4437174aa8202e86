/**
 * What a new-user test found: a long SSE line took quadratic time, a non-SSE 200 was called a
 * cut-off, the readiness wait overshot its timeout, and the cancel reason showed AbortError text.
 */
import { describe, expect, it } from '@jest/globals'
import type { ServerResponse } from 'node:http'
import { type Socket, createServer } from 'node:net'
import { runLoad } from '../../src/engine/load.js'
import { waitForServer } from '../../src/engine/readiness.js'
import { MAX_LINE_BYTES, SseParser } from '../../src/engine/sse.js'
import { UserError } from '../../src/errors.js'
import { MemoryLogger, silentLogger } from '../../src/log.js'
import {
  benchSettings,
  chunk,
  requestSettings,
  sendOnce,
  startHttpServer
} from '../helpers/engine.js'

const PIECE = 64 * 1024

function pieces(body: Buffer, every = PIECE): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at < body.length; at += every) out.push(body.subarray(at, at + every))
  return out
}

/** One `data:` event whose content is `bytes` long, then a finish and [DONE]. */
function hugeEvent(bytes: number): Buffer {
  const event = `data: ${chunk({ content: 'x'.repeat(bytes) })}\n\n`
  return Buffer.from(`${event}data: ${chunk({}, 'stop')}\n\ndata: [DONE]\n\n`)
}

/** Writes the parts as fast as the socket takes them; stops when the client goes away. */
async function writeAll(res: ServerResponse, parts: Buffer[], type = 'text/event-stream') {
  res.on('error', () => undefined)
  res.writeHead(200, { 'content-type': type })
  for (const part of parts) {
    if (res.destroyed) return
    if (!res.write(part)) await new Promise(resolve => res.once('drain', resolve))
  }
  res.end()
}

async function serve(parts: Buffer[], type?: string) {
  const server = await startHttpServer((req, res) => writeAll(res, parts, type))
  try {
    return await sendOnce(server.url)
  } finally {
    await server.close()
  }
}

function parseAll(parts: Buffer[], maxLineBytes?: number) {
  const events: string[] = []
  const invalid: string[] = []
  const parser = new SseParser(
    {
      onEvent: data => events.push(data),
      onOtherLine: () => undefined,
      onInvalid: message => invalid.push(message)
    },
    maxLineBytes
  )
  for (const part of parts) parser.feed(part)
  parser.end()
  return { events, invalid, copied: parser.copiedBytes }
}

describe('a long SSE line split across many reads', () => {
  it('is copied a bounded number of times, not once per read', () => {
    for (const mb of [10, 20, 40]) {
      const body = hugeEvent(mb * 1e6)
      const { events, invalid, copied } = parseAll(pieces(body), 64 * 1024 * 1024)
      expect(invalid).toEqual([])
      expect(events).toHaveLength(3)
      expect(events[0].length).toBeGreaterThan(mb * 1e6)
      // Each piece kept once, the line joined once; re-joining per read copied ~N²/64 KB.
      expect(copied).toBeLessThanOrEqual(2 * body.length)
    }
  })

  it('of 20 MB in 64 KB writes is read by the client from a loopback server', async () => {
    const started = Date.now()
    const record = await serve(pieces(hugeEvent(20e6)))
    expect(record.error).toBeNull()
    expect(record.finishReason).toBe('stop')
    expect(record.tokenChunks).toBe(1)
    // Loose on purpose (a loaded CI machine); the copy count above is the real guard.
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('over the limit without a newline fails the request as invalid-response', async () => {
    const record = await serve(pieces(Buffer.alloc(MAX_LINE_BYTES + PIECE, 'x')))
    expect(record.error).toEqual({
      class: 'invalid-response',
      message: 'the server sent an SSE line over 32 MiB without a newline'
    })
  })

  it('over the limit stops the parser: nothing after it is read', () => {
    const parts = pieces(Buffer.from(`data: ${'x'.repeat(5000)}`), 100)
    const { events, invalid } = parseAll([...parts, Buffer.from('\n\ndata: after\n\n')], 1000)
    expect(invalid).toEqual(['the server sent an SSE line over 1000 bytes without a newline'])
    expect(events).toEqual([])
  })

  it('fails once an event of many short data lines passes the limit', () => {
    const { events, invalid } = parseAll([Buffer.from('data: 0123456789\n'.repeat(200))], 1000)
    expect(invalid).toEqual(['the server sent an SSE event over 1000 bytes without a blank line'])
    expect(events).toEqual([])
  })
})

describe('a 2xx reply that is not an event stream', () => {
  it('is invalid-response naming the content type and the start of the body', async () => {
    const html = '<!DOCTYPE html>\n<html><body><h1>Welcome to nginx!</h1></body></html>\n'
    const record = await serve([Buffer.from(html)], 'text/html; charset=utf-8')
    expect(record.error?.class).toBe('invalid-response')
    expect(record.error?.message).toBe(
      'expected an event stream but got text/html; charset=utf-8: ' +
        '<!DOCTYPE html> <html><body><h1>Welcome to nginx!</h1></body></html>'
    )
  })

  it('is invalid-response for an empty text/plain body too', async () => {
    const record = await serve([], 'text/plain')
    expect(record.error).toEqual({
      class: 'invalid-response',
      message: 'expected an event stream but got text/plain: (empty body)'
    })
  })

  it('keeps usage and finish reason of a JSON completion', async () => {
    const completion = JSON.stringify({
      choices: [{ index: 0, message: { content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: 2 }
    })
    const record = await serve([Buffer.from(completion)], 'application/json')
    expect(record.error?.class).toBe('invalid-response')
    expect(record.error?.message).toMatch(/^expected an event stream but got application\/json/)
    expect([record.finishReason, record.promptTokens, record.completionTokens]).toEqual([
      'stop',
      4,
      2
    ])
  })

  it('is read as a stream when the content type is missing, as some servers omit it', async () => {
    const server = await startHttpServer((req, res) => {
      res.writeHead(200)
      res.end(`data: ${chunk({ content: 'hi' })}\n\ndata: ${chunk({}, 'stop')}\n\n`)
    })
    try {
      const record = await sendOnce(server.url)
      expect([record.error, record.tokenChunks, record.finishReason]).toEqual([null, 1, 'stop'])
    } finally {
      await server.close()
    }
  })

  it('is still an error when it has no content type and is not SSE', async () => {
    const server = await startHttpServer((req, res) => {
      res.writeHead(200)
      res.end('<html>hello</html>')
    })
    try {
      expect((await sendOnce(server.url)).error?.class).toBe('cut-off')
    } finally {
      await server.close()
    }
  })
})

describe('the readiness wait', () => {
  it('ends close to its timeout when the server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer(socket => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    const address = silent.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    try {
      const started = Date.now()
      const waiting = waitForServer(
        requestSettings(`http://127.0.0.1:${port}/v1`),
        1000,
        silentLogger
      )
      await expect(waiting).rejects.toThrow(UserError)
      await expect(waiting).rejects.toThrow(/was not ready within 1 s; last seen: no answer/)
      expect(Date.now() - started).toBeLessThan(2500)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => silent.close(resolve))
    }
  })
})

describe('a cancelled run', () => {
  it('says it was cancelled by the user, not "This operation was aborted"', async () => {
    const server = await startHttpServer(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(`data: ${chunk({ content: 'x' })}\n\n`)
      // Never finishes: the request is in flight when the run is cancelled.
    })
    const controller = new AbortController()
    const log = new MemoryLogger()
    setTimeout(() => controller.abort(), 300)
    try {
      const result = await runLoad({
        settings: benchSettings(server.url, { concurrency: 1, durationMs: 20_000, graceMs: 50 }),
        prompts: [{ prompt: 'p', promptTokens: 1, completionTokens: 1 }],
        log,
        signal: controller.signal
      })
      expect(result.status).toBe('cancelled')
      expect(result.reason).toBe('cancelled by the user (SIGINT/SIGTERM)')
      expect(log.text('info')).toMatch(/waiting up to 0.05 s for 1 request in flight/)
    } finally {
      await server.close()
    }
  })
})
