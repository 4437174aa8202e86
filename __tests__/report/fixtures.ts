/**
 * Hand-built results and comparisons for the report tests: small, readable, and with numbers
 * chosen so each formatted figure is easy to recognise in the output.
 */
import { DEFAULT_SETTINGS, redactSettings, type BenchSettings } from '../../src/config/settings.js'
import type { RequestRecord } from '../../src/engine/record.js'
import type { Comparison, MetricComparison } from '../../src/gate/types.js'
import type { Distribution } from '../../src/metrics/types.js'
import type { TrendPoint } from '../../src/report/markdown.js'
import {
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile
} from '../../src/results/schema.js'

/** A distribution whose statistics are `base` scaled: avg 1×, min 0.5×, med 0.9×, p90 1.5× … */
export function distribution(base: number, n = 478): Distribution {
  return {
    n,
    avg: base,
    min: base * 0.5,
    med: base * 0.9,
    p90: base * 1.5,
    p95: base * 1.7,
    p99: base * 2.1,
    max: base * 2.5
  }
}

export const EMPTY_DISTRIBUTION: Distribution = {
  n: 0,
  avg: null,
  min: null,
  med: null,
  max: null,
  p90: null,
  p95: null,
  p99: null
}

export function settings(overrides: Partial<BenchSettings['request']> = {}): BenchSettings {
  return {
    ...DEFAULT_SETTINGS,
    request: { ...DEFAULT_SETTINGS.request, ...overrides }
  }
}

export function failedRequest(
  id: number,
  errorClass: 'http' | 'timeout',
  message: string
): RequestRecord {
  return {
    id,
    vu: 0,
    promptIndex: id,
    phase: 'measured',
    scheduledAt: null,
    sentAt: id * 10,
    firstTokenAt: null,
    lastTokenAt: null,
    endAt: id * 10 + 5,
    status: errorClass === 'http' ? 500 : null,
    promptTokens: null,
    completionTokens: null,
    completionTokensEstimated: false,
    chunks: 0,
    tokenChunks: 0,
    interTokenMs: [],
    finishReason: null,
    error: { class: errorClass, message },
    model: null,
    systemFingerprint: null,
    timings: null
  }
}

/** A completed run against llama.cpp: TTFT avg 812 ms, decode rate avg 35.2 tok/s. */
export function results(overrides: Partial<ResultsFile> = {}): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'llm-bench', version: '0.1.0' },
    status: 'completed',
    reason: null,
    startedAt: '2025-05-01T10:00:00.000Z',
    endedAt: '2025-05-01T10:10:30.000Z',
    settings: redactSettings(
      settings({ apiKey: 'sk-secret-key-123', headers: { 'X-Token': 'hdr-secret-456' } })
    ),
    fingerprint: { hash: 'f1e2d3c4b5a69788', fields: {} },
    dataset: {
      source: 'https://huggingface.co/datasets/x/ShareGPT.json',
      path: '.llm-bench/cache/sharegpt.json',
      sha256: '35f0e213ce091ed14c8b4b1dc1b6a8b0fd5ff2b24cb7b1d1d7fd7c1e3ce8b9e2',
      bytes: 673_741_824,
      stages: [
        { name: 'read', kept: 94_145 },
        { name: 'minTurns', kept: 90_012 },
        { name: 'maxContext', kept: 480 }
      ],
      prompts: 480,
      fromPreparedCache: true
    },
    server: {
      url: 'http://localhost:8080/v1',
      models: ['qwen2.5-0.5b-instruct'],
      model: 'qwen2.5-0.5b-instruct',
      systemFingerprint: 'b4567-abcdef',
      software: 'llama.cpp'
    },
    runner: {
      os: 'linux',
      arch: 'x64',
      cpu: 'AMD EPYC 7763 64-Core Processor',
      cores: 4,
      memoryBytes: 16 * 1024 ** 3,
      node: 'v24.1.0',
      gpu: null
    },
    requests: [],
    summary: {
      windowMs: 600_000,
      requests: { sent: 480, succeeded: 478, failed: 2, errorsByClass: { http: 2 }, cut: 0 },
      distributions: {
        ttft: distribution(812),
        prompt_processing_rate: distribution(412),
        decode_rate: distribution(35.2),
        tpot: distribution(28.4),
        itl: distribution(28.1, 61_000),
        e2e_latency: distribution(4_210),
        prompt_tokens: distribution(213),
        completion_tokens: distribution(128)
      },
      totals: {
        prompt_tokens: 101_814,
        completion_tokens: 61_184,
        completion_tokens_estimated: false
      },
      rates: { truncated_rate: 0.125, stop_rate: 0.871, error_rate: 0.00417 },
      throughput: {
        requests_per_second: 0.797,
        output_tokens_per_second: 102,
        total_tokens_per_second: 271
      },
      client: { event_loop_lag: distribution(2), bottleneck: false }
    },
    warnings: [],
    ...overrides
  }
}

export function metricComparison(overrides: Partial<MetricComparison> = {}): MetricComparison {
  return {
    metric: 'ttft',
    stat: 'p95',
    gated: true,
    threshold: { metric: 'ttft', stat: 'p95', kind: 'relative', limit: 0.1 },
    baseline: 1_200,
    current: 1_380,
    relativeChange: 0.15,
    relativeChangeCi: [0.08, 0.22],
    pValue: 0.0004,
    historyNoise: 0.031,
    verdict: 'regression',
    explanation: 'p95 TTFT is 15.0% slower, beyond the 10% limit and the 3.1% run-to-run noise.',
    ...overrides
  }
}

/** A regression of TTFT p95 and a pass of the median decode rate, against three baseline runs. */
export function comparison(overrides: Partial<Comparison> = {}): Comparison {
  return {
    verdict: 'regression',
    reason: 'Time to first token p95 regressed by 15.0%.',
    confidence: 0.99,
    baseline: {
      runs: 3,
      commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      ref: 'main',
      date: '2025-04-30T09:00:00Z'
    },
    metrics: [
      metricComparison({
        metric: 'decode_rate',
        stat: 'med',
        threshold: { metric: 'decode_rate', stat: 'med', kind: 'relative', limit: 0.1 },
        baseline: 31.7,
        current: 31.9,
        relativeChange: 0.0063,
        relativeChangeCi: [-0.01, 0.02],
        pValue: 0.41,
        historyNoise: 0.012,
        verdict: 'pass',
        explanation: 'No significant change.'
      }),
      metricComparison(),
      metricComparison({
        metric: 'error_rate',
        stat: 'value',
        gated: false,
        threshold: null,
        baseline: 0,
        current: 0.00417,
        relativeChange: null,
        relativeChangeCi: null,
        pValue: 0.5,
        historyNoise: null,
        verdict: 'within-noise',
        explanation: 'Two errors in 480 requests.'
      })
    ],
    differences: [],
    warnings: [],
    ...overrides
  }
}

export function history(count: number): TrendPoint[] {
  return Array.from({ length: count }, (_, index) => ({
    label: `c0ffee${index}`,
    date: `2025-04-${String(index + 1).padStart(2, '0')}`,
    values: { ttft: 1_200 + index * 10, decode_rate: 31.5 + index * 0.1 }
  }))
}
