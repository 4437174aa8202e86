/**
 * Wire shapes of the two server families, as plain objects. llama.cpp shapes follow the recordings
 * in __tests__/fixtures/llamacpp (field order included); openai shapes follow vLLM's server.
 */
import type { SimOptions } from './options.js'

export type Flavor = SimOptions['flavor']
export type FinishReason = 'stop' | 'length'

/** What llama-server at the recorded commit reports (`--version` of a source build). */
export const LLAMACPP_FINGERPRINT = 'b0-unknown'

export interface CompletionMeta {
  flavor: Flavor
  id: string
  created: number
  model: string
}

export interface Usage {
  completion_tokens: number
  prompt_tokens: number
  total_tokens: number
}

export type LlamaTimings = Record<
  | 'prompt_n'
  | 'prompt_ms'
  | 'prompt_per_token_ms'
  | 'prompt_per_second'
  | 'predicted_n'
  | 'predicted_ms'
  | 'predicted_per_token_ms'
  | 'predicted_per_second',
  number
>

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    completion_tokens: completionTokens,
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens
  }
}

/** llama.cpp's `timings`, in simulated milliseconds (rounded to µs like the server's output). */
export function llamaTimings(
  promptN: number,
  promptMs: number,
  predictedN: number,
  predictedMs: number
): LlamaTimings {
  const round = (ms: number) => Math.round(ms * 1000) / 1000
  return {
    prompt_n: promptN,
    prompt_ms: round(promptMs),
    prompt_per_token_ms: promptN > 0 ? promptMs / promptN : 0,
    prompt_per_second: promptMs > 0 ? (1000 * promptN) / promptMs : 0,
    predicted_n: predictedN,
    predicted_ms: round(predictedMs),
    predicted_per_token_ms: predictedN > 0 ? predictedMs / predictedN : 0,
    predicted_per_second: predictedMs > 0 ? (1000 * predictedN) / predictedMs : 0
  }
}

type Delta = { role?: 'assistant'; content?: string }

function chunk(meta: CompletionMeta, delta: Delta, finishReason: FinishReason | null) {
  if (meta.flavor === 'llamacpp') {
    return {
      choices: [{ finish_reason: finishReason, index: 0, delta }],
      created: meta.created,
      id: meta.id,
      model: meta.model,
      system_fingerprint: LLAMACPP_FINGERPRINT,
      object: 'chat.completion.chunk'
    }
  }
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }]
  }
}

/** vLLM opens every stream with a role-only chunk; llama.cpp starts with content. */
export function openingChunks(meta: CompletionMeta): object[] {
  return meta.flavor === 'openai' ? [chunk(meta, { role: 'assistant', content: '' }, null)] : []
}

export function contentChunk(meta: CompletionMeta, text: string): object {
  return chunk(meta, { content: text }, null)
}

/**
 * The chunks after the last token. llama.cpp puts usage and timings on the finish chunk (always,
 * as recorded, even without `include_usage`); vLLM sends usage in its own chunk with no choices,
 * only when asked.
 */
export function closingChunks(
  meta: CompletionMeta,
  finishReason: FinishReason,
  usage: Usage,
  timings: LlamaTimings,
  includeUsage: boolean
): object[] {
  const finish = chunk(meta, {}, finishReason)
  if (meta.flavor === 'llamacpp') return [{ ...finish, usage, timings }]
  if (!includeUsage) return [finish]
  return [finish, { ...chunk(meta, {}, null), choices: [], usage }]
}

export function completionObject(
  meta: CompletionMeta,
  content: string,
  finishReason: FinishReason,
  usage: Usage,
  timings: LlamaTimings
): object {
  const message = { role: 'assistant', content }
  if (meta.flavor === 'llamacpp') {
    return {
      choices: [{ finish_reason: finishReason, index: 0, message }],
      created: meta.created,
      model: meta.model,
      system_fingerprint: LLAMACPP_FINGERPRINT,
      object: 'chat.completion',
      usage,
      id: meta.id,
      timings
    }
  }
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: { ...message, tool_calls: [] },
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: null
      }
    ],
    usage
  }
}

const LLAMACPP_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'server_error',
  503: 'unavailable_error'
}

const OPENAI_ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  404: 'NotFoundError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError'
}

/** The error object itself (llama.cpp: `{code, message, type}`; vLLM adds `param`). */
export function errorObject(flavor: Flavor, status: number, message: string): object {
  if (flavor === 'llamacpp') {
    return { code: status, message, type: LLAMACPP_ERROR_TYPES[status] ?? 'server_error' }
  }
  const type = OPENAI_ERROR_TYPES[status] ?? 'InternalServerError'
  return { message, type, param: null, code: status }
}

export function errorBody(flavor: Flavor, status: number, message: string): object {
  return { error: errorObject(flavor, status, message) }
}

/**
 * An error inside a 200 stream. llama.cpp (recorded commit) sends an SSE `error:` field line with
 * the bare error object; vLLM sends it as a data event `{"error": {...}}` and then `[DONE]`.
 */
export function streamErrorEvent(flavor: Flavor, message: string): string {
  if (flavor === 'llamacpp')
    return `error: ${JSON.stringify(errorObject(flavor, 500, message))}\n\n`
  return sseData(errorBody(flavor, 500, message)) + SSE_DONE
}

export function modelsBody(flavor: Flavor, modelId: string, created: number): object {
  if (flavor === 'llamacpp') {
    return {
      object: 'list',
      data: [
        {
          id: modelId,
          object: 'model',
          created,
          owned_by: 'llamacpp',
          meta: {
            vocab_type: 1,
            n_vocab: 32000,
            n_ctx_train: 4096,
            n_embd: 2048,
            n_params: 1_100_048_384,
            size: 2_200_119_296
          }
        }
      ]
    }
  }
  return {
    object: 'list',
    data: [
      {
        id: modelId,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: modelId,
        parent: null,
        max_model_len: 4096
      }
    ]
  }
}

export function sseData(payload: object): string {
  return `data: ${JSON.stringify(payload)}\n\n`
}

export const SSE_DONE = 'data: [DONE]\n\n'

/** Response headers of each family besides the content type. */
export function flavorHeaders(flavor: Flavor): Record<string, string> {
  return flavor === 'llamacpp'
    ? { Server: 'llama.cpp', 'Access-Control-Allow-Origin': '' }
    : { server: 'uvicorn' }
}
