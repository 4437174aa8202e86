import type { BenchSettings } from '../config/settings.js'
import type { RequestRecord } from '../engine/record.js'
import type { RunSummary } from '../metrics/types.js'

export const RESULTS_SCHEMA = 'llm-bench/results'
export const RESULTS_SCHEMA_VERSION = 1

/** How the run ended. Anything but `completed` still has every measured request. */
export type RunStatus = 'completed' | 'aborted' | 'cancelled' | 'failed'

export interface DatasetFacts {
  source: string
  /** Local file the prompts were read from. */
  path: string | null
  sha256: string | null
  bytes: number | null
  /** Counts after each filter stage, in order, e.g. `{read: 50, minTurns: 49, ...}`. */
  stages: { name: string; kept: number }[]
  prompts: number
  /** True when the prompts came from the prepared-set cache instead of a parse. */
  fromPreparedCache: boolean
}

export interface ServerFacts {
  url: string
  /** Model ids listed by `GET /models`, when it answered. */
  models: string[]
  /** Model id reported in the responses. */
  model: string | null
  systemFingerprint: string | null
  /** `Server` response header, e.g. `llama.cpp`. */
  software: string | null
}

export interface RunnerFacts {
  os: string
  arch: string
  cpu: string
  cores: number
  memoryBytes: number
  node: string
  gpu: string | null
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA
  schemaVersion: typeof RESULTS_SCHEMA_VERSION
  tool: { name: 'llm-bench'; version: string }
  status: RunStatus
  /** One line saying why the run did not complete, or null. */
  reason: string | null
  startedAt: string
  endedAt: string
  /** Effective settings, secrets redacted. */
  settings: BenchSettings
  fingerprint: { hash: string; fields: Record<string, unknown> }
  dataset: DatasetFacts | null
  server: ServerFacts
  runner: RunnerFacts
  /** Every request, warmup included (`phase`). */
  requests: RequestRecord[]
  summary: RunSummary
  warnings: string[]
}
