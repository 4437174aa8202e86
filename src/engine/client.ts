/**
 * The streaming client. It talks to undici's dispatcher directly (no Readable, no async
 * iteration) so each read is stamped in the data callback, before any parsing, and the client
 * adds as little work per chunk as possible.
 */
import { endpointUrl } from './endpoint.js'
import { performance } from 'node:perf_hooks'
import { Agent, type Dispatcher } from 'undici'
import type { RequestSettings } from '../config/settings.js'
import type { ErrorClass, RequestRecord } from './record.js'
import { SseParser } from './sse.js'
import { StreamState, excerpt, serverMessage } from './stream-state.js'

/** What the load generator knows about a request before it is sent. */
export interface RequestMeta {
  id: number
  vu: number | null
  promptIndex: number
  phase: 'warmup' | 'measured'
  scheduledAt: number | null
}

export interface InFlight {
  /** Settles once, with the record; never rejects. */
  readonly record: Promise<RequestRecord>
  /** Ends the request now with this error, keeping what was measured so far. */
  cut(errorClass: ErrorClass, message: string): void
}

export interface ClientOptions {
  /** `performance.now()` at the start of the run: every time in a record is relative to it. */
  origin: number
  /** Most connections to the server; null = unlimited. Never below the concurrency. */
  connections: number | null
}

/** Bytes kept of a non-stream body (an error or a JSON completion). */
const MAX_BODY_BYTES = 1 << 20

export class StreamClient {
  private readonly agent: Agent
  private readonly url: URL
  private readonly headers: Record<string, string>

  constructor(
    private readonly request: RequestSettings,
    private readonly options: ClientOptions
  ) {
    this.url = endpointUrl(request.serverUrl, 'chat/completions')
    this.headers = requestHeaders(request)
    this.agent = new Agent({
      connections: options.connections,
      pipelining: 1,
      // Our own per-request timer enforces requestTimeoutMs; a busy server may hold the
      // headers back while the request waits for a slot, so they get the same allowance.
      headersTimeout: request.requestTimeoutMs,
      bodyTimeout: 0,
      connect: { timeout: 30_000 }
    })
  }

  now(): number {
    return performance.now() - this.options.origin
  }

  send(body: string, meta: RequestMeta): InFlight {
    const handler = new ResponseHandler(meta, this.options.origin, this.request.requestTimeoutMs)
    const dispatchOptions: Dispatcher.DispatchOptions = {
      origin: this.url.origin,
      path: this.url.pathname + this.url.search,
      method: 'POST',
      headers: this.headers,
      body
    }
    handler.start()
    this.agent.dispatch(dispatchOptions, handler)
    return handler
  }

  async close(): Promise<void> {
    await this.agent.close()
  }
}

export function requestHeaders(request: RequestSettings): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream'
  }
  if (request.apiKey) headers.authorization = `Bearer ${request.apiKey}`
  return { ...headers, ...request.headers }
}

/** How the body is read: parsed as a stream, or kept whole (a non-stream 2xx or an error). */
type BodyMode = 'sse' | 'other' | 'error'

class ResponseHandler implements Dispatcher.DispatchHandler, InFlight {
  readonly record: Promise<RequestRecord>
  private resolve!: (record: RequestRecord) => void
  private readonly state = new StreamState()
  private readonly parser = new SseParser(this.state)
  private controller: Dispatcher.DispatchController | null = null
  private settled = false
  private timer: NodeJS.Timeout | null = null
  /** Dispatch time until undici starts writing the request (see onRequestStart). */
  private sentAt = 0
  private status: number | null = null
  private mode: BodyMode = 'sse'
  private contentType = ''
  private body: Buffer[] = []
  private bodyBytes = 0

  constructor(
    private readonly meta: RequestMeta,
    private readonly origin: number,
    private readonly timeoutMs: number
  ) {
    this.record = new Promise(resolve => (this.resolve = resolve))
  }

  /**
   * The request is handed to undici. The timeout runs from here (time queued for a connection
   * counts against it); `sentAt` is only provisional: a request that never gets written (e.g.
   * connection refused) keeps this time.
   */
  start(): void {
    this.sentAt = performance.now() - this.origin
    this.timer = setTimeout(
      () => this.cut('timeout', `no complete response within ${this.timeoutMs / 1000} s`),
      this.timeoutMs
    )
  }

  cut(errorClass: ErrorClass, message: string): void {
    if (this.settled) return
    this.state.fail(errorClass, message)
    this.settle(performance.now() - this.origin)
  }

  /**
   * undici calls this synchronously just before it writes the request on a socket, so this is
   * where the request is sent. Stamping at dispatch instead would count client-side queueing in
   * TTFT and latency: waiting for a free connection, and the event-loop turn (setImmediate)
   * undici waits before it reuses a kept-alive socket. In the open loop, `sentAt − scheduledAt`
   * is then the client's true lateness.
   */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.settled) return controller.abort(new Error('request ended'))
    this.sentAt = performance.now() - this.origin
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>
  ): void {
    this.status = statusCode
    const type = headers['content-type']
    this.contentType = (Array.isArray(type) ? type[0] : type) ?? ''
    if (statusCode < 200 || statusCode > 299) this.mode = 'error'
    else if (!isEventStream(this.contentType)) this.mode = 'other'
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const at = performance.now() - this.origin
    if (this.settled) return
    if (this.mode !== 'sse') return this.keep(chunk)
    this.state.readAt = at
    this.parser.feed(chunk)
    if (this.state.error !== null) this.settle(at)
  }

  onResponseEnd(): void {
    const at = performance.now() - this.origin
    if (this.settled) return
    if (this.mode === 'sse') {
      this.parser.end()
      this.state.endOfBody()
    } else if (this.mode === 'other') this.takeOtherBody()
    else this.state.fail('http', `HTTP ${this.status}: ${serverMessage(this.bodyText())}`)
    this.settle(at)
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    const at = performance.now() - this.origin
    if (this.settled) return
    this.state.fail(this.classify(error), describe(error))
    this.settle(at)
  }

  private classify(error: Error): ErrorClass {
    const code = (error as { code?: string }).code
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout'
    // Once the response has started, a dropped connection cuts the stream short.
    return this.status === null ? 'connection' : 'cut-off'
  }

  private keep(chunk: Buffer): void {
    if (this.bodyBytes >= MAX_BODY_BYTES) return
    this.body.push(Buffer.from(chunk))
    this.bodyBytes += chunk.length
  }

  private bodyText(): string {
    return Buffer.concat(this.body).toString('utf8')
  }

  /**
   * A 2xx body that is not an event stream: JSON when the server ignored `stream: true` (its
   * usage and finish reason are kept), or e.g. an HTML page from a proxy or a wrong URL.
   */
  private takeOtherBody(): void {
    const text = this.bodyText()
    if (this.contentType.includes('json')) this.takeJson(text)
    this.state.fail(
      'invalid-response',
      `expected an event stream but got ${this.contentType}: ${excerpt(text) || '(empty body)'}`
    )
  }

  private takeJson(text: string): void {
    try {
      const message: unknown = JSON.parse(text)
      if (typeof message === 'object' && message !== null && !Array.isArray(message)) {
        this.state.takeMessage(message as Record<string, unknown>)
      }
    } catch {
      // reported by the caller
    }
  }

  private settle(endAt: number): void {
    if (this.settled) return
    this.settled = true
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.controller !== null && this.state.error !== null) {
      this.controller.abort(new Error(this.state.error.message))
    }
    this.resolve(this.toRecord(endAt))
  }

  private toRecord(endAt: number): RequestRecord {
    return streamRecord(this.meta, this.state, this.status, this.sentAt, endAt)
  }
}

/** The record of a request from what its stream said and when it was sent and ended. */
export function streamRecord(
  meta: RequestMeta,
  s: StreamState,
  status: number | null,
  sentAt: number,
  endAt: number
): RequestRecord {
  // Without usage, token-bearing chunks are the best count (one token each on llama.cpp).
  const estimated = s.completionTokens === null && (s.error === null || s.tokenChunks > 0)
  return {
    id: meta.id,
    vu: meta.vu,
    promptIndex: meta.promptIndex,
    phase: meta.phase,
    scheduledAt: meta.scheduledAt,
    sentAt,
    firstTokenAt: s.firstTokenAt,
    lastTokenAt: s.lastTokenAt,
    endAt,
    status,
    promptTokens: s.promptTokens,
    completionTokens: estimated ? s.tokenChunks : s.completionTokens,
    completionTokensEstimated: estimated,
    chunks: s.chunks,
    tokenChunks: s.tokenChunks,
    interTokenMs: s.interTokenMs,
    finishReason: s.finishReason,
    error: s.error,
    model: s.model,
    systemFingerprint: s.systemFingerprint,
    timings: s.timings
  }
}

/**
 * A missing content type counts as a stream: some servers omit it, and a body that is not SSE
 * still fails (as a cut-off or invalid event) instead of being silently accepted.
 */
function isEventStream(contentType: string): boolean {
  if (contentType === '') return true
  return contentType.split(';')[0].trim().toLowerCase() === 'text/event-stream'
}

function describe(error: Error): string {
  const code = (error as { code?: string }).code
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const causeCode = cause?.code ?? ''
  return [code ?? causeCode, error.message].filter(Boolean).join(': ')
}
