import { isSuccess, type RequestRecord } from '../engine/record.js'
import { distribution } from './distribution.js'
import type { RunSummary } from './types.js'

/**
 * The client counts as a bottleneck when its own event loop stalls long enough to delay the
 * timestamps it takes. A p99 lag above 20 ms is larger than a typical inter-token gap of a fast
 * server (10–30 ms), so token times would be visibly smeared; a single stall above 100 ms skews
 * a time to first token or an end-to-end latency by more than the noise the gate tolerates.
 */
export const BOTTLENECK_LAG_P99_MS = 20
export const BOTTLENECK_LAG_MAX_MS = 100

/** The error class of requests still running when the run ended: not the server's fault. */
const CUT_CLASS = 'cut-by-run-end'

export interface RequestMetrics {
  /** Time to first token: `firstTokenAt − sentAt`, ms; null without a token. */
  ttft: number | null
  /** Prompt tokens / TTFT in seconds, tokens/s; null without a prompt count or when TTFT ≤ 0. */
  prompt_processing_rate: number | null
  /**
   * Completion tokens / (`endAt − firstTokenAt` in seconds), tokens/s: the formula of llama.cpp's
   * k6 benchmark (`llamacpp_tokens_second`), which counts the first token although the interval
   * starts with it, kept so the figures match that script. Null when the interval is ≤ 0.
   */
  decode_rate: number | null
  /** Time per output token: `(lastTokenAt − firstTokenAt) / (completionTokens − 1)`, ms; null unless > 1 token. */
  tpot: number | null
  /** End-to-end latency: `endAt − sentAt`, ms. */
  e2e_latency: number | null
}

/** The per-request figures of one request; the caller decides which requests count. */
export function requestMetrics(record: RequestRecord): RequestMetrics {
  const ttft = record.firstTokenAt === null ? null : record.firstTokenAt - record.sentAt
  return {
    ttft,
    prompt_processing_rate: promptProcessingRate(record.promptTokens, ttft),
    decode_rate: decodeRate(record),
    tpot: timePerOutputToken(record),
    e2e_latency: record.endAt - record.sentAt
  }
}

function promptProcessingRate(promptTokens: number | null, ttft: number | null): number | null {
  if (promptTokens === null || ttft === null || ttft <= 0) return null
  return promptTokens / (ttft / 1000)
}

function decodeRate(record: RequestRecord): number | null {
  if (record.completionTokens === null || record.firstTokenAt === null) return null
  const decodeMs = record.endAt - record.firstTokenAt
  return decodeMs > 0 ? record.completionTokens / (decodeMs / 1000) : null
}

function timePerOutputToken(record: RequestRecord): number | null {
  const { completionTokens, firstTokenAt, lastTokenAt } = record
  if (completionTokens === null || completionTokens <= 1) return null
  if (firstTokenAt === null || lastTokenAt === null) return null
  return (lastTokenAt - firstTokenAt) / (completionTokens - 1)
}

function present(values: readonly (number | null)[]): number[] {
  return values.filter((value): value is number => value !== null)
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

/** `count / total`, 0 when there is nothing to divide: a run with no successes has no truncations. */
function ratio(count: number, total: number): number {
  return total > 0 ? count / total : 0
}

/** First measured send to last measured end, ms; 0 without measured requests. */
function measuredWindowMs(measured: readonly RequestRecord[]): number {
  if (measured.length === 0) return 0
  // reduce, not Math.min(...spread): long runs have more requests than the call stack allows
  const start = measured.reduce((min, record) => Math.min(min, record.sentAt), Infinity)
  const end = measured.reduce((max, record) => Math.max(max, record.endAt), -Infinity)
  return Math.max(0, end - start)
}

function errorsByClass(failed: readonly RequestRecord[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const record of failed) {
    const errorClass = record.error?.class ?? 'unknown'
    counts[errorClass] = (counts[errorClass] ?? 0) + 1
  }
  return counts
}

/**
 * The run's summary. Only `phase: 'measured'` requests count; distributions, token totals and
 * throughputs are over the successful ones (no error).
 *
 * - Failures: every measured error except `cut-by-run-end`, which the run's end caused, not the
 *   server; those are counted in `requests.cut` and left out of the error rate's denominator:
 *   `error_rate = failed / (sent − cut)`.
 * - `truncated_rate` / `stop_rate`: finish reason `length` / `stop` among successes.
 * - ITL: every inter-token gap of every successful request.
 * - Throughputs: successful requests, their completion tokens, and their prompt + completion
 *   tokens, each divided by the window from the first measured send to the last measured end.
 * - Client: the distribution of `eventLoopLagMs`; `bottleneck` when its p99 or max is too high.
 */
export function summarize(
  requests: readonly RequestRecord[],
  eventLoopLagMs: readonly number[]
): RunSummary {
  const measured = requests.filter(record => record.phase === 'measured')
  const successes = measured.filter(isSuccess)
  const cut = measured.filter(record => record.error?.class === CUT_CLASS)
  const failed = measured.filter(
    record => record.error !== null && record.error.class !== CUT_CLASS
  )
  const perRequest = successes.map(requestMetrics)
  const promptTokens = present(successes.map(record => record.promptTokens))
  const completionTokens = present(successes.map(record => record.completionTokens))
  const windowMs = measuredWindowMs(measured)
  const windowS = windowMs / 1000
  const totals = {
    prompt_tokens: sum(promptTokens),
    completion_tokens: sum(completionTokens),
    completion_tokens_estimated: successes.some(record => record.completionTokensEstimated)
  }
  const lag = distribution(eventLoopLagMs)
  return {
    windowMs,
    requests: {
      sent: measured.length,
      succeeded: successes.length,
      failed: failed.length,
      errorsByClass: errorsByClass(failed),
      cut: cut.length
    },
    distributions: {
      ttft: distribution(present(perRequest.map(m => m.ttft))),
      prompt_processing_rate: distribution(present(perRequest.map(m => m.prompt_processing_rate))),
      decode_rate: distribution(present(perRequest.map(m => m.decode_rate))),
      tpot: distribution(present(perRequest.map(m => m.tpot))),
      itl: distribution(successes.flatMap(record => record.interTokenMs)),
      e2e_latency: distribution(present(perRequest.map(m => m.e2e_latency))),
      prompt_tokens: distribution(promptTokens),
      completion_tokens: distribution(completionTokens)
    },
    totals,
    rates: {
      truncated_rate: ratio(countFinish(successes, 'length'), successes.length),
      stop_rate: ratio(countFinish(successes, 'stop'), successes.length),
      error_rate: ratio(failed.length, measured.length - cut.length)
    },
    throughput: {
      requests_per_second: ratio(successes.length, windowS),
      output_tokens_per_second: ratio(totals.completion_tokens, windowS),
      total_tokens_per_second: ratio(totals.prompt_tokens + totals.completion_tokens, windowS)
    },
    client: {
      event_loop_lag: lag,
      bottleneck: (lag.p99 ?? 0) > BOTTLENECK_LAG_P99_MS || (lag.max ?? 0) > BOTTLENECK_LAG_MAX_MS
    }
  }
}

export function countFinish(records: readonly RequestRecord[], reason: string): number {
  return records.filter(record => record.finishReason === reason).length
}
