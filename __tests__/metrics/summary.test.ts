import { describe, expect, it } from '@jest/globals'
import type { ErrorClass, RequestRecord } from '../../src/engine/record.js'
import { requestMetrics, summarize } from '../../src/metrics/summary.js'

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    id: 0,
    vu: 0,
    promptIndex: 0,
    phase: 'measured',
    scheduledAt: null,
    sentAt: 0,
    firstTokenAt: 100,
    lastTokenAt: 1100,
    endAt: 1100,
    status: 200,
    promptTokens: 50,
    completionTokens: 11,
    completionTokensEstimated: false,
    chunks: 12,
    tokenChunks: 11,
    interTokenMs: [],
    finishReason: 'stop',
    error: null,
    model: 'm',
    systemFingerprint: null,
    timings: null,
    ...overrides
  }
}

function failure(errorClass: ErrorClass, overrides: Partial<RequestRecord> = {}): RequestRecord {
  return record({
    firstTokenAt: null,
    lastTokenAt: null,
    completionTokens: null,
    promptTokens: null,
    finishReason: null,
    error: { class: errorClass, message: 'x' },
    ...overrides
  })
}

describe('requestMetrics', () => {
  it('computes every per-request formula', () => {
    // ttft 100 ms; 50 prompt tokens / 0.1 s; 11 tokens / 1.0 s from first token to end;
    // (1100 - 100) / (11 - 1) = 100 ms per output token; 1100 ms end to end
    expect(
      requestMetrics(record({ sentAt: 0, firstTokenAt: 100, lastTokenAt: 1100, endAt: 1100 }))
    ).toEqual({
      ttft: 100,
      prompt_processing_rate: 500,
      decode_rate: 11,
      tpot: 100,
      e2e_latency: 1100
    })
  })

  it('uses the end of the stream, not the last token, for the decode rate', () => {
    // 10 tokens over 2000 ms from first token to end = 5 tokens/s; tpot over 1000 ms / 9
    const metrics = requestMetrics(
      record({ sentAt: 0, firstTokenAt: 500, lastTokenAt: 1500, endAt: 2500, completionTokens: 10 })
    )
    expect(metrics.decode_rate).toBe(5)
    expect(metrics.tpot).toBeCloseTo(1000 / 9, 10)
  })

  it.each([
    ['no prompt token count', { promptTokens: null }, 'prompt_processing_rate'],
    ['a zero time to first token', { sentAt: 100, firstTokenAt: 100 }, 'prompt_processing_rate'],
    ['an end at the first token', { firstTokenAt: 1100, lastTokenAt: 1100 }, 'decode_rate'],
    ['one completion token', { completionTokens: 1 }, 'tpot'],
    ['no completion token count', { completionTokens: null }, 'decode_rate'],
    ['no token at all', { firstTokenAt: null, lastTokenAt: null }, 'ttft']
  ] as const)('skips a figure that has %s', (_name, overrides, key) => {
    expect(requestMetrics(record(overrides))[key]).toBeNull()
  })
})

describe('summarize', () => {
  const requests: RequestRecord[] = [
    // warmup: never counted, even though it is the slowest and earliest
    record({ id: 0, phase: 'warmup', sentAt: -5000, firstTokenAt: 0, endAt: 9000 }),
    // success A: ttft 100, 11 tokens in 1 s, finish stop
    record({
      id: 1,
      sentAt: 0,
      firstTokenAt: 100,
      lastTokenAt: 1100,
      endAt: 1100,
      interTokenMs: [10, 20]
    }),
    // success B: ttft 300, 21 tokens in 2 s, finish length, estimated count
    record({
      id: 2,
      sentAt: 1000,
      firstTokenAt: 1300,
      lastTokenAt: 3300,
      endAt: 3300,
      promptTokens: 150,
      completionTokens: 21,
      completionTokensEstimated: true,
      finishReason: 'length',
      interTokenMs: [30]
    }),
    failure('http', { id: 3, sentAt: 2000, endAt: 2100 }),
    failure('timeout', { id: 4, sentAt: 2500, endAt: 3500 }),
    // cut at the run's end: counted as cut, not failed, not in the error rate's denominator
    failure('cut-by-run-end', { id: 5, sentAt: 3000, endAt: 4000 })
  ]
  const summary = summarize(requests, [1, 2, 3, 4])

  it('counts measured requests only, with cut requests apart from failures', () => {
    expect(summary.requests).toEqual({
      sent: 5,
      succeeded: 2,
      failed: 2,
      errorsByClass: { http: 1, timeout: 1 },
      cut: 1
    })
  })

  it('spans the window from the first measured send to the last measured end', () => {
    expect(summary.windowMs).toBe(4000)
  })

  it.each([
    ['ttft', 'avg', 200],
    ['ttft', 'max', 300],
    ['prompt_processing_rate', 'avg', 500],
    ['decode_rate', 'min', 10.5],
    ['decode_rate', 'max', 11],
    ['tpot', 'avg', 100],
    ['e2e_latency', 'max', 2300],
    ['prompt_tokens', 'avg', 100],
    ['completion_tokens', 'max', 21]
  ] as const)('gives %s.%s over successes only', (metric, stat, expected) => {
    expect(summary.distributions[metric][stat]).toBeCloseTo(expected, 10)
    expect(summary.distributions[metric].n).toBe(2)
  })

  it('pools every inter-token gap of every success into the ITL distribution', () => {
    expect(summary.distributions.itl).toMatchObject({ n: 3, avg: 20, min: 10, max: 30 })
  })

  it('totals tokens of successes and flags estimated completion counts', () => {
    expect(summary.totals).toEqual({
      prompt_tokens: 200,
      completion_tokens: 32,
      completion_tokens_estimated: true
    })
  })

  it('computes rates, with cut requests out of the error rate', () => {
    // truncated 1/2, stop 1/2, error 2 / (5 - 1)
    expect(summary.rates).toEqual({ truncated_rate: 0.5, stop_rate: 0.5, error_rate: 0.5 })
  })

  it('divides throughputs by the 4 s window', () => {
    expect(summary.throughput).toEqual({
      requests_per_second: 0.5,
      output_tokens_per_second: 8,
      total_tokens_per_second: 58
    })
  })

  it.each([
    ['low lag', [1, 2, 3, 4], false],
    ['a p99 above 20 ms', Array.from({ length: 10 }, () => 25), true],
    ['one stall above 100 ms', [...Array.from({ length: 199 }, () => 1), 150], true],
    ['no lag samples', [], false]
  ])('flags the client as a bottleneck with %s: %#', (_name, lag, expected) => {
    expect(summarize(requests, lag).client.bottleneck).toBe(expected)
  })

  it('is all zeros for a run without measured requests', () => {
    const empty = summarize([record({ phase: 'warmup' })], [])
    expect(empty.requests.sent).toBe(0)
    expect(empty.windowMs).toBe(0)
    expect(empty.rates).toEqual({ truncated_rate: 0, stop_rate: 0, error_rate: 0 })
    expect(empty.throughput.requests_per_second).toBe(0)
    expect(empty.distributions.ttft.n).toBe(0)
  })
})
