/**
 * What the engine measures for one request. Times are milliseconds on the monotonic clock
 * (`performance.now()`), relative to the start of the run (`RunTimeline.startedAt`),
 * stamped when the bytes arrived.
 */

export type ErrorClass =
  /** Non-2xx HTTP status. */
  | 'http'
  /** An error object sent inside a 200 stream. */
  | 'stream-error'
  /** The stream ended with neither a finish reason nor `[DONE]`. */
  | 'cut-off'
  /** Connection refused, reset or closed before a response. */
  | 'connection'
  /** The request ran past `requestTimeoutMs`. */
  | 'timeout'
  /** Still running when the run ended and its grace period ran out. */
  | 'cut-by-run-end'
  /** A response that is not an OpenAI-compatible stream (bad JSON, wrong content type). */
  | 'invalid-response'

export interface RequestError {
  class: ErrorClass
  message: string
}

/** llama.cpp's own `timings` object, kept as the server sent it. */
export type ServerTimings = Record<string, number>

export interface RequestRecord {
  /** Global iteration number, in send order, from 0. */
  id: number
  /** Closed loop: the virtual user that sent it; open loop: null. */
  vu: number | null
  /** Index into the prepared prompt list. */
  promptIndex: number
  phase: 'warmup' | 'measured'
  /** Open loop: when the arrival process scheduled it. */
  scheduledAt: number | null
  sentAt: number
  /** First token-bearing chunk (non-empty content, reasoning or tool call delta). */
  firstTokenAt: number | null
  /** Last token-bearing chunk. */
  lastTokenAt: number | null
  /** End of the response body (or the failure). */
  endAt: number
  status: number | null
  promptTokens: number | null
  completionTokens: number | null
  /** True when the server sent no usage and `completionTokens` counts token-bearing chunks. */
  completionTokensEstimated: boolean
  /** Every SSE data event received, of any kind. */
  chunks: number
  /** Token-bearing chunks. */
  tokenChunks: number
  /** Gaps between consecutive token-bearing chunks, ms. */
  interTokenMs: number[]
  finishReason: string | null
  error: RequestError | null
  /** Model id and fingerprint as the stream reported them. */
  model: string | null
  systemFingerprint: string | null
  timings: ServerTimings | null
}

/** True when a request completed: 2xx, no error, a finish reason or `[DONE]`. */
export function isSuccess(record: RequestRecord): boolean {
  return record.error === null
}
