/**
 * A simulated OpenAI-compatible inference server: continuous batching over a fixed number of slots,
 * prefill and decode times from the model in ./model.ts, llama.cpp or vLLM wire shapes, and fault
 * knobs. It is the default benchmark target, the test double, and the subject of the gate's
 * accuracy study, so every random draw is seeded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  answerTokens,
  decodeStepMs,
  jitterFactor,
  mixSeeds,
  mulberry32,
  planCompletion,
  prefillMs,
  type CompletionPlan,
  type Rng
} from './model.js'
import { resolveSimOptions, type SimOptions } from './options.js'
import { invalidJsonProblem, parseCompletionRequest, type CompletionRequest } from './request.js'
import {
  closingChunks,
  completionObject,
  contentChunk,
  errorBody,
  flavorHeaders,
  llamaTimings,
  modelsBody,
  openingChunks,
  sseData,
  SSE_DONE,
  streamErrorEvent,
  usageOf,
  type CompletionMeta
} from './responses.js'
import { Pacer, SlotScheduler } from './scheduler.js'

export { DEFAULT_SIM_OPTIONS, type SimOptions } from './options.js'

export interface SimStats {
  /** Chat completion requests received (valid or not). */
  requests: number
  /** Completions that ran to their finish reason. */
  completed: number
  /** Requests the server failed: error statuses (injected, invalid, loading, auth), stream errors, disconnects. */
  errors: number
  /** Of `errors`: streams cut by `disconnectRate`. */
  disconnects: number
  /** Of `errors`: streams that carried an error event (`streamErrorRate`). */
  streamErrors: number
  /** Requests the client abandoned (connection closed) while queued or running. */
  aborted: number
  /** Sequences holding a slot now, and waiting for one now. */
  active: number
  queued: number
  maxActive: number
  maxQueued: number
  promptTokens: number
  completionTokens: number
}

export interface SimServer {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:PORT/v1. */
  url: string
  port: number
  options: SimOptions
  close(): Promise<void>
  stats(): SimStats
}

interface SimState {
  options: SimOptions
  scheduler: SlotScheduler
  /** The server's own random stream: timing noise and faults, drawn in arrival order. */
  rng: Rng
  readyAt: number
  shutdown: AbortController
  counters: Omit<SimStats, 'active' | 'queued' | 'maxActive' | 'maxQueued'>
  requestCounter: number
}

export async function startSimServer(options: Partial<SimOptions> = {}): Promise<SimServer> {
  const resolved = resolveSimOptions(options)
  const state = createState(resolved)
  const server = createServer((req, res) => {
    res.on('error', () => undefined)
    route(state, req, res).catch(error => sendInternalError(state, res, error))
  })
  const port = await listen(server, resolved.host, resolved.port)
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host
  return {
    url: `http://${host}:${port}/v1`,
    port,
    options: resolved,
    close: () => closeServer(server, state),
    stats: () => snapshot(state)
  }
}

function createState(options: SimOptions): SimState {
  return {
    options,
    scheduler: new SlotScheduler(options.slots),
    rng: mulberry32(mixSeeds(options.seed, 0x5e12)),
    readyAt: performance.now() + options.loadingMs / options.timeScale,
    shutdown: new AbortController(),
    counters: {
      requests: 0,
      completed: 0,
      errors: 0,
      disconnects: 0,
      streamErrors: 0,
      aborted: 0,
      promptTokens: 0,
      completionTokens: 0
    },
    requestCounter: 0
  }
}

function snapshot(state: SimState): SimStats {
  const { scheduler } = state
  return {
    ...state.counters,
    active: scheduler.active,
    queued: scheduler.queued,
    maxActive: scheduler.maxActive,
    maxQueued: scheduler.maxQueued
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

async function closeServer(server: Server, state: SimState): Promise<void> {
  state.shutdown.abort(new Error('server closing'))
  const closed = new Promise<void>(resolve => server.close(() => resolve()))
  server.closeAllConnections()
  await closed
}

async function route(state: SimState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/'
  const isCompletion = path === '/v1/chat/completions' || path === '/chat/completions'
  if (isCompletion) state.counters.requests++
  if (req.method === 'GET' && (path === '/health' || path === '/v1/health')) {
    return isLoading(state) ? sendLoading(state, res) : sendJson(state, res, 200, { status: 'ok' })
  }
  if (!isAuthorized(state, req)) {
    return sendError(state, res, 401, 'Invalid API Key', isCompletion)
  }
  if (isLoading(state)) return sendLoading(state, res, isCompletion)
  if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
    const { flavor, modelId } = state.options
    return sendJson(state, res, 200, modelsBody(flavor, modelId, nowSeconds()))
  }
  if (req.method === 'POST' && isCompletion) return handleCompletion(state, req, res)
  sendError(state, res, 404, 'File Not Found', false)
}

function isLoading(state: SimState): boolean {
  return performance.now() < state.readyAt
}

function isAuthorized(state: SimState, req: IncomingMessage): boolean {
  const { apiKey } = state.options
  return apiKey === undefined || req.headers.authorization === `Bearer ${apiKey}`
}

async function handleCompletion(
  state: SimState,
  req: IncomingMessage,
  res: ServerResponse
): Promise<void> {
  const { flavor } = state.options
  let body: unknown
  try {
    body = JSON.parse(await readBody(req))
  } catch (error) {
    const problem = invalidJsonProblem(flavor, error)
    return sendError(state, res, problem.status, problem.message, true)
  }
  const parsed = parseCompletionRequest(flavor, body)
  if (!parsed.ok) return sendError(state, res, parsed.problem.status, parsed.problem.message, true)
  if (state.rng() < state.options.errorRate) return sendInjectedError(state, res)
  const plan = planCompletion(state.options, planInput(parsed.request), state.rng)
  await runCompletion(state, parsed.request, plan, res)
}

function planInput(request: CompletionRequest) {
  return {
    messages: request.messages,
    maxTokens: request.maxTokens,
    requestSeed: request.seed,
    ignoreEos: request.ignoreEos,
    stream: request.stream
  }
}

function sendInjectedError(state: SimState, res: ServerResponse): void {
  const status = state.options.errorStatus
  const messages = {
    429: 'Too many requests',
    500: 'Internal server error',
    503: 'Service unavailable'
  }
  const headers: Record<string, string> = status === 429 ? { 'Retry-After': '1' } : {}
  sendError(state, res, status, `simulated error: ${messages[status]}`, true, headers)
}

/** Aborts when the client goes away before the response ends, or the server closes. */
function requestSignal(state: SimState, res: ServerResponse): AbortSignal {
  const client = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) client.abort(new Error('client closed the connection'))
  })
  return AbortSignal.any([client.signal, state.shutdown.signal])
}

async function runCompletion(
  state: SimState,
  request: CompletionRequest,
  plan: CompletionPlan,
  res: ServerResponse
): Promise<void> {
  const signal = requestSignal(state, res)
  const meta = completionMeta(state, request)
  if (request.stream) startStream(state, res)
  if (!(await state.scheduler.acquire(signal))) {
    state.counters.aborted++
    return
  }
  try {
    const sink = request.stream ? streamSink(state, res, meta) : null
    const outcome = await generate(state, plan, signal, sink)
    finish(state, request, plan, meta, res, outcome)
  } catch (error) {
    if (!signal.aborted) throw error
    state.counters.aborted++
    res.destroy()
  } finally {
    state.scheduler.release()
  }
}

function completionMeta(state: SimState, request: CompletionRequest): CompletionMeta {
  state.requestCounter++
  const idRng = mulberry32(mixSeeds(state.options.seed, state.requestCounter, 0x1d))
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const suffix = Array.from({ length: 32 }, () => alphabet[Math.floor(idRng() * 62)]).join('')
  return {
    flavor: state.options.flavor,
    id: `chatcmpl-${suffix}`,
    created: nowSeconds(),
    model: request.model ?? state.options.modelId
  }
}

interface Outcome {
  kind: 'done' | 'disconnect' | 'stream-error'
  tokens: string[]
  promptMs: number
  predictedMs: number
}

/** Emits each generated token, in the order and at the times the batching model gives. */
interface TokenSink {
  token(text: string, index: number): void
}

/**
 * Prefill, then one decode step per token. Each step's length is recomputed from the number of
 * sequences active at that moment, so sequences joining or leaving the batch change the pace.
 */
async function generate(
  state: SimState,
  plan: CompletionPlan,
  signal: AbortSignal,
  sink: TokenSink | null
): Promise<Outcome> {
  const { options, scheduler } = state
  const pacer = new Pacer(options.timeScale)
  const tokenRng = mulberry32(plan.tokenJitterSeed)
  const tokens = answerTokens(plan.textSeed, plan.outputTokens)
  const promptMs = prefillMs(options, plan.promptTokens) * plan.requestJitter
  await pacer.advance(promptMs, signal)
  let predictedMs = 0
  for (let i = 0; i < tokens.length; i++) {
    const noise = plan.requestJitter * jitterFactor(tokenRng, options.jitter)
    const step = decodeStepMs(options, scheduler.active) * noise
    predictedMs += step
    await pacer.advance(step, signal)
    if (plan.fault && plan.fault.afterTokens === i) {
      return { kind: plan.fault.kind, tokens: tokens.slice(0, i), promptMs, predictedMs }
    }
    sink?.token(tokens[i], i)
  }
  return { kind: 'done', tokens, promptMs, predictedMs }
}

function startStream(state: SimState, res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    ...flavorHeaders(state.options.flavor)
  })
  res.flushHeaders()
}

function streamSink(state: SimState, res: ServerResponse, meta: CompletionMeta): TokenSink {
  return {
    token(text, index) {
      if (index === 0) openingChunks(meta).forEach(chunk => res.write(sseData(chunk)))
      res.write(sseData(contentChunk(meta, text)))
    }
  }
}

function finish(
  state: SimState,
  request: CompletionRequest,
  plan: CompletionPlan,
  meta: CompletionMeta,
  res: ServerResponse,
  outcome: Outcome
): void {
  const { counters, options } = state
  if (outcome.kind === 'disconnect') {
    counters.errors++
    counters.disconnects++
    res.socket?.destroy()
    return
  }
  if (outcome.kind === 'stream-error') {
    counters.errors++
    counters.streamErrors++
    res.end(streamErrorEvent(options.flavor, 'simulated error while generating'))
    return
  }
  counters.completed++
  counters.promptTokens += plan.promptTokens
  counters.completionTokens += plan.outputTokens
  const usage = usageOf(plan.promptTokens, plan.outputTokens)
  const timings = llamaTimings(
    plan.promptTokens,
    outcome.promptMs,
    plan.outputTokens,
    outcome.predictedMs
  )
  if (!request.stream) {
    const content = outcome.tokens.join('')
    return sendJson(
      state,
      res,
      200,
      completionObject(meta, content, plan.finishReason, usage, timings)
    )
  }
  const closing = closingChunks(meta, plan.finishReason, usage, timings, request.includeUsage)
  res.end(closing.map(sseData).join('') + SSE_DONE)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson(
  state: SimState,
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {}
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...flavorHeaders(state.options.flavor),
    ...headers
  })
  res.end(text)
}

function sendError(
  state: SimState,
  res: ServerResponse,
  status: number,
  message: string,
  countAsError: boolean,
  headers: Record<string, string> = {}
): void {
  if (countAsError) state.counters.errors++
  sendJson(state, res, status, errorBody(state.options.flavor, status, message), headers)
}

function sendLoading(state: SimState, res: ServerResponse, countAsError = false): void {
  sendError(state, res, 503, 'Loading model', countAsError)
}

function sendInternalError(state: SimState, res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const message = error instanceof Error ? error.message : String(error)
  sendError(state, res, 500, message, true)
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
