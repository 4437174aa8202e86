/** Shared bits of the engine tests: settings for a loopback server and a small SSE server. */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import {
  DEFAULT_SETTINGS,
  type BenchSettings,
  type LoadSettings,
  type RequestSettings
} from '../../src/config/settings.js'
import { StreamClient } from '../../src/engine/client.js'
import type { RequestRecord } from '../../src/engine/record.js'

export function requestSettings(
  url: string,
  overrides: Partial<RequestSettings> = {}
): RequestSettings {
  return { ...DEFAULT_SETTINGS.request, serverUrl: url, requestTimeoutMs: 10_000, ...overrides }
}

export function benchSettings(
  url: string,
  load: Partial<LoadSettings> = {},
  request: Partial<RequestSettings> = {}
): BenchSettings {
  return {
    ...DEFAULT_SETTINGS,
    request: requestSettings(url, request),
    load: { ...DEFAULT_SETTINGS.load, thinkTimeMs: 0, graceMs: 1000, abortAfterMs: 0, ...load }
  }
}

/** Sends one request with the engine's client and returns its record. */
export async function sendOnce(
  url: string,
  request: Partial<RequestSettings> = {}
): Promise<RequestRecord> {
  const client = new StreamClient(requestSettings(url, request), {
    origin: performance.now(),
    connections: 1
  })
  try {
    const inFlight = client.send('{}', {
      id: 0,
      vu: 0,
      promptIndex: 0,
      phase: 'measured',
      scheduledAt: null
    })
    return await inFlight.record
  } finally {
    await client.close()
  }
}

export interface TestServer {
  url: string
  close(): Promise<void>
}

/** A loopback node:http server; `handler` answers every request. */
export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>
): Promise<TestServer> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', part => parts.push(part))
    req.on('end', () => {
      void Promise.resolve(handler(req, res, Buffer.concat(parts).toString('utf8'))).catch(() =>
        res.destroy()
      )
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** Writes `pieces` of an SSE body one by one, pausing between them so each is its own read. */
export async function writeSse(
  res: ServerResponse,
  pieces: (string | Buffer)[],
  pauseMs = 2
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.flushHeaders()
  for (const [i, piece] of pieces.entries()) {
    if (i > 0) await new Promise(resolve => setTimeout(resolve, pauseMs))
    res.write(piece)
  }
  res.end()
}

export function chunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra = {}
): string {
  return JSON.stringify({
    choices: [{ index: 0, delta, finish_reason: finish }],
    model: 'm',
    ...extra
  })
}
