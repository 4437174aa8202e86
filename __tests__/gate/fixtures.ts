import { baselineRunFromResults, type BaselineRun } from '../../src/baseline/store.js'
import { DEFAULT_SETTINGS } from '../../src/config/settings.js'
import type { RequestRecord } from '../../src/engine/record.js'
import { mulberry32 } from '../../src/random.js'
import { summarize } from '../../src/metrics/summary.js'
import {
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  type RunnerFacts
} from '../../src/results/schema.js'

export const RUNNER: RunnerFacts = {
  os: 'linux',
  arch: 'x64',
  cpu: 'AMD EPYC 7763',
  cores: 4,
  memoryBytes: 16e9,
  node: '24.0.0',
  gpu: null
}

export const FINGERPRINT = { hash: 'f1f1f1f1f1f1f1f1', fields: { model: 'm', 'max-tokens': 512 } }

export interface Shape {
  /** Requests; spaced 100 ms apart. */
  n?: number
  /** Multiplies every time to first token (prefill slowdown). */
  ttftScale?: number
  /** Multiplies every decode interval (decode slowdown). */
  decodeScale?: number
  /** The jitter's seed: the same seed gives the same per-request jitter. */
  seed?: number
  /** The first `failures` requests fail with an HTTP error. */
  failures?: number
  /** Explicit times to first token, overriding n and the generated ones. */
  ttfts?: number[]
}

/**
 * Requests of 100 prompt tokens and 50 completion tokens: TTFT 200 ms ± 10% and 20 ms per
 * token ± 10%, each scaled by the shape.
 */
export function records(shape: Shape = {}): RequestRecord[] {
  const random = mulberry32(shape.seed ?? 1)
  const ttfts =
    shape.ttfts ?? Array.from({ length: shape.n ?? 100 }, () => 200 * (0.9 + 0.2 * random()))
  return ttfts.map((rawTtft, id) => {
    const sentAt = id * 100
    const ttft = rawTtft * (shape.ttftScale ?? 1)
    const gap = 20 * (0.9 + 0.2 * random()) * (shape.decodeScale ?? 1)
    const failed = id < (shape.failures ?? 0)
    return {
      id,
      vu: 0,
      promptIndex: id,
      phase: 'measured',
      scheduledAt: null,
      sentAt,
      firstTokenAt: failed ? null : sentAt + ttft,
      lastTokenAt: failed ? null : sentAt + ttft + 49 * gap,
      endAt: failed ? sentAt + 10 : sentAt + ttft + 50 * gap,
      status: failed ? 500 : 200,
      promptTokens: failed ? null : 100,
      completionTokens: failed ? null : 50,
      completionTokensEstimated: false,
      chunks: 51,
      tokenChunks: 50,
      interTokenMs: failed ? [] : Array.from({ length: 49 }, () => gap),
      finishReason: failed ? null : 'stop',
      error: failed ? { class: 'http', message: 'HTTP 500' } : null,
      model: 'm',
      systemFingerprint: null,
      timings: null
    } satisfies RequestRecord
  })
}

export function results(shape: Shape = {}, overrides: Partial<ResultsFile> = {}): ResultsFile {
  const requests = records(shape)
  return {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'llm-bench', version: '0.1.0' },
    status: 'completed',
    reason: null,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:10:00.000Z',
    settings: DEFAULT_SETTINGS,
    fingerprint: FINGERPRINT,
    dataset: null,
    server: { url: 'http://x/v1', models: [], model: 'm', systemFingerprint: null, software: null },
    runner: RUNNER,
    requests,
    summary: summarize(requests, []),
    warnings: [],
    ...overrides
  }
}

export function run(shape: Shape = {}, commit: string | null = null): BaselineRun {
  return baselineRunFromResults(results(shape), { commit, ref: 'refs/heads/main' })
}
