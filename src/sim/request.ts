/** Reading a chat completion request body into what the simulation needs, or a client error. */
import type { ChatMessage } from './model.js'
import type { Flavor } from './responses.js'

export interface CompletionRequest {
  messages: ChatMessage[]
  model: string | null
  stream: boolean
  includeUsage: boolean
  maxTokens: number | null
  seed: number | null
  ignoreEos: boolean
}

export interface RequestProblem {
  status: number
  message: string
}

type Parsed = { ok: true; request: CompletionRequest } | { ok: false; problem: RequestProblem }

/** llama.cpp answers malformed JSON with 500 and nlohmann's message; vLLM with 400. */
export function invalidJsonProblem(flavor: Flavor, cause: unknown): RequestProblem {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return flavor === 'llamacpp'
    ? { status: 500, message: `[json.exception.parse_error.101] parse error: ${detail}` }
    : { status: 400, message: `JSON decode error: ${detail}` }
}

export function parseCompletionRequest(flavor: Flavor, body: unknown): Parsed {
  if (!isObject(body)) return fail(400, 'the request body must be a JSON object')
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isObject)) {
    return flavor === 'llamacpp' && messages === undefined
      ? fail(500, "[json.exception.out_of_range.403] key 'messages' not found")
      : fail(400, "'messages' must be a non-empty array of message objects")
  }
  const maxTokens = readMaxTokens(body.max_completion_tokens ?? body.max_tokens)
  if (maxTokens === undefined) return fail(400, "'max_tokens' must be a positive integer or -1")
  const streamOptions = isObject(body.stream_options) ? body.stream_options : {}
  return {
    ok: true,
    request: {
      messages: messages as ChatMessage[],
      model: typeof body.model === 'string' ? body.model : null,
      stream: body.stream === true,
      includeUsage: streamOptions.include_usage === true,
      maxTokens,
      seed: readSeed(body.seed),
      ignoreEos: body.ignore_eos === true
    }
  }
}

/** null = no limit (absent, null or llama.cpp's -1); undefined = invalid. */
function readMaxTokens(value: unknown): number | null | undefined {
  if (value === undefined || value === null || value === -1) return null
  return Number.isInteger(value) && (value as number) >= 1 ? (value as number) : undefined
}

/** A usable seed, or null for none (absent or llama.cpp's -1 "random"). */
function readSeed(value: unknown): number | null {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) >>> 0 : null
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(status: number, message: string): Parsed {
  return { ok: false, problem: { status, message } }
}
