/**
 * A loopback OpenAI-style SSE server for the client-overhead benchmark. It runs in a child
 * process so its own work never delays the client's event loop, and it stamps its side of
 * every request on the machine's monotonic clock (`process.hrtime`, CLOCK_MONOTONIC, shared by
 * every process), so the client can subtract exactly what the server did.
 *
 * Each request's body says how to stream (the engine passes `extraBody` through):
 * - `max_tokens`: the number of content chunks;
 * - `bench: { firstMs, intervalMs, jitterMs }`: first token `firstMs` (plus up to `jitterMs`)
 *   after arrival, then one every `intervalMs`, on an absolute schedule; without it, chunks go back-to-back as fast as the
 *   socket takes them.
 * The final chunk carries the server's stamps in `timings` (kept whole in `RequestRecord.timings`),
 * so every record brings its own server measurement: no matching by order or by prompt.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { fileURLToPath } from 'node:url'

/** Stamps the server adds to the final chunk's `timings`, ms. */
export interface ServerStamps {
  /** Monotonic clock (hrtime, ms) when the request's headers were parsed. */
  bench_arrival_hr_ms: number
  /** Monotonic clock (hrtime, ms) just after the first token chunk went to the socket. */
  bench_first_write_hr_ms: number
  /** The server's own TTFT: arrival → first token write. */
  bench_arrival_to_first_write_ms: number
  /** The client's port: requests of one connection arrive in the order the client wrote them. */
  bench_client_port: number
}

export interface StreamPace {
  firstMs: number
  intervalMs: number
  /** Spread of the first token, uniform in [0, jitterMs): keeps closed-loop users out of step. */
  jitterMs?: number
}

/** The server's CPU and traffic since its last `/stats` reset. */
export interface ServerStats {
  cpuUserMs: number
  cpuSystemMs: number
  wallMs: number
  requests: number
  chunks: number
}

export interface StreamServerHandle {
  /** Base URL of the API, for `RequestSettings.serverUrl`. */
  baseUrl: string
  port: number
  /** Reads and resets the server's counters. */
  stats(): Promise<ServerStats>
  close(): Promise<void>
}

/** Time on the monotonic clock that every process on the machine shares, ms. */
export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

// A realistic chunk: llama-server's and OpenAI's carry id, object, created, model and fingerprint.
const CHUNK_HEAD = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
const CHUNK_MODEL = '"model":"bench-model","system_fingerprint":"b1-bench",'
const TOKEN_EVENT = Buffer.from(
  `data: ${CHUNK_HEAD}${CHUNK_MODEL}"choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n`
)
/** Back-to-back chunks are written in batches: fewer syscalls, so the server outruns any client. */
const BATCH = 32
const TOKEN_BATCH = Buffer.concat(Array.from({ length: BATCH }, () => TOKEN_EVENT))
const DONE_EVENT = Buffer.from('data: [DONE]\n\n')

const counters = { requests: 0, chunks: 0, since: hrMs(), cpu: process.cpuUsage() }

function finalEvent(promptTokens: number, completionTokens: number, stamps: ServerStamps): string {
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens
  }
  const chunk = `${CHUNK_HEAD}${CHUNK_MODEL}"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],`
  return `data: ${chunk}"usage":${JSON.stringify(usage)},"timings":${JSON.stringify(stamps)}}\n\n`
}

interface StreamRequest {
  arrivalHr: number
  clientPort: number
  tokens: number
  promptTokens: number
  pace: StreamPace | null
}

function parseRequest(text: string, arrivalHr: number, clientPort: number): StreamRequest {
  const body = JSON.parse(text) as {
    max_tokens?: number
    messages?: { content?: string }[]
    bench?: StreamPace
  }
  const prompt = body.messages?.map(m => m.content ?? '').join(' ') ?? ''
  return {
    arrivalHr,
    clientPort,
    tokens: Math.max(1, body.max_tokens ?? 16),
    promptTokens: Math.max(1, Math.round(prompt.length / 4)),
    pace: body.bench ?? null
  }
}

/**
 * Writes the first token and stamps it once the bytes reached the socket: node:http corks the
 * socket on write and uncorks on the next tick, so a tick queued after the write runs after the
 * syscall. The stamp is then at most a few µs late, never early.
 */
function writeFirst(res: ServerResponse): Promise<number> {
  res.write(TOKEN_EVENT)
  return new Promise(resolve => process.nextTick(() => resolve(hrMs())))
}

function writeAsync(res: ServerResponse, data: Buffer | string): Promise<void> {
  if (res.write(data)) return Promise.resolve()
  return new Promise(resolve => res.once('drain', resolve))
}

async function streamFast(res: ServerResponse, req: StreamRequest): Promise<void> {
  let left = req.tokens - 1
  while (left > 0 && !res.destroyed) {
    const n = Math.min(left, BATCH)
    await writeAsync(
      res,
      n === BATCH ? TOKEN_BATCH : TOKEN_BATCH.subarray(0, n * TOKEN_EVENT.length)
    )
    left -= n
  }
}

/** When a paced stream's first token is due (hrtime ms); null = as fast as possible. */
function firstTokenAt({ pace, arrivalHr }: StreamRequest): number | null {
  if (pace === null) return null
  return arrivalHr + pace.firstMs + Math.random() * (pace.jitterMs ?? 0)
}

async function streamPaced(res: ServerResponse, req: StreamRequest, firstAt: number) {
  const interval = req.pace?.intervalMs ?? 0
  for (let k = 1; k < req.tokens && !res.destroyed; k++) {
    await sleepUntil(firstAt + k * interval)
    await writeAsync(res, TOKEN_EVENT)
  }
}

function sleepUntil(atHr: number): Promise<void> {
  const ms = atHr - hrMs()
  return new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))
}

async function stream(res: ServerResponse, req: StreamRequest): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.flushHeaders()
  const firstAt = firstTokenAt(req)
  if (firstAt !== null) await sleepUntil(firstAt)
  const firstHr = await writeFirst(res)
  if (firstAt !== null) await streamPaced(res, req, firstAt)
  else await streamFast(res, req)
  const stamps: ServerStamps = {
    bench_arrival_hr_ms: req.arrivalHr,
    bench_first_write_hr_ms: firstHr,
    bench_arrival_to_first_write_ms: firstHr - req.arrivalHr,
    bench_client_port: req.clientPort
  }
  res.write(finalEvent(req.promptTokens, req.tokens, stamps))
  res.end(DONE_EVENT)
  counters.requests++
  counters.chunks += req.tokens + 2
}

function readStats(): ServerStats {
  const cpu = process.cpuUsage(counters.cpu)
  const stats = {
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    wallMs: hrMs() - counters.since,
    requests: counters.requests,
    chunks: counters.chunks
  }
  Object.assign(counters, { requests: 0, chunks: 0, since: hrMs(), cpu: process.cpuUsage() })
  return stats
}

function handle(incoming: IncomingMessage, res: ServerResponse): void {
  const arrivalHr = hrMs()
  if (incoming.method === 'GET' && incoming.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(readStats()))
    return
  }
  if (incoming.method !== 'POST' || incoming.url !== '/v1/chat/completions') {
    res.writeHead(404).end()
    return
  }
  const parts: Buffer[] = []
  incoming.on('data', (part: Buffer) => parts.push(part))
  incoming.on('end', () => {
    let req: StreamRequest
    try {
      const text = Buffer.concat(parts).toString('utf8')
      req = parseRequest(text, arrivalHr, incoming.socket.remotePort ?? 0)
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: String(error) } }))
      return
    }
    stream(res, req).catch(() => res.destroy())
  })
}

function serve(): void {
  const server = createServer({ keepAliveTimeout: 60_000, noDelay: true }, handle)
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    process.send?.({ port })
  })
  // The parent going away (even killed) must not leave the server running.
  process.on('disconnect', () => process.exit(0))
}

/** Starts the server in a child process and waits until it listens. */
export async function startStreamServer(): Promise<StreamServerHandle> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const port = await listeningPort(child)
  const base = `http://127.0.0.1:${port}`
  return {
    baseUrl: `${base}/v1`,
    port,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as ServerStats,
    close: () => stopChild(child)
  }
}

function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('message', message => resolve((message as { port: number }).port))
    child.once('error', reject)
    child.once('exit', code => reject(new Error(`stream server exited early (code ${code})`)))
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise(resolve => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

if (process.argv.includes('--serve')) serve()
