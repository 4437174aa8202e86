import { UserError, errorMessage, invalidInput } from '../errors.js'
import { isSuccess, type RequestRecord } from '../engine/record.js'
import { countFinish, requestMetrics } from '../metrics/summary.js'
import type { RunSummary } from '../metrics/types.js'
import {
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  type RunStatus,
  type RunnerFacts
} from '../results/schema.js'
import type { SettingsFingerprint } from './fingerprint.js'

export const BASELINE_SCHEMA = 'llm-bench/baseline'
export const BASELINE_SCHEMA_VERSION = 1

/**
 * Per-request values of the successful measured requests, for the gate's rank tests. Values are
 * rounded to 4 significant digits (0.05% at worst, far below any run-to-run noise) so a baseline
 * of a long run stays small; token counts are exact.
 */
export interface BaselineSamples {
  ttft: number[]
  prompt_processing_rate: number[]
  decode_rate: number[]
  tpot: number[]
  /** The mean inter-token gap of each request (one value per request, not every gap). */
  itl: number[]
  e2e_latency: number[]
  prompt_tokens: number[]
  completion_tokens: number[]
  /** Counts behind the rates, for the two-proportion test. */
  counts: {
    measured: number
    failed: number
    cut: number
    succeeded: number
    truncated: number
    stopped: number
  }
}

export type SampleMetricId = Exclude<keyof BaselineSamples, 'counts'>

export interface BaselineRun {
  commit: string | null
  ref: string | null
  /** When the run started, ISO 8601. */
  date: string
  runner: RunnerFacts
  summary: RunSummary
  samples: BaselineSamples
}

export interface BaselineFile {
  schema: typeof BASELINE_SCHEMA
  schemaVersion: number
  name: string
  fingerprint: SettingsFingerprint
  /** Oldest first. */
  runs: BaselineRun[]
}

const SIGNIFICANT_DIGITS = 4

export function roundSignificant(value: number, digits = SIGNIFICANT_DIGITS): number {
  return value === 0 || !Number.isFinite(value) ? value : Number(value.toPrecision(digits))
}

function roundedValues(values: readonly (number | null)[]): number[] {
  return values.filter((value): value is number => value !== null).map(v => roundSignificant(v))
}

function meanGap(record: RequestRecord): number | null {
  const gaps = record.interTokenMs
  return gaps.length === 0 ? null : gaps.reduce((total, gap) => total + gap, 0) / gaps.length
}

/** The compact per-request samples of a run's successful measured requests. */
export function baselineSamples(requests: readonly RequestRecord[]): BaselineSamples {
  const measured = requests.filter(record => record.phase === 'measured')
  const successes = measured.filter(isSuccess)
  const perRequest = successes.map(requestMetrics)
  const cut = measured.filter(record => record.error?.class === 'cut-by-run-end').length
  return {
    ttft: roundedValues(perRequest.map(m => m.ttft)),
    prompt_processing_rate: roundedValues(perRequest.map(m => m.prompt_processing_rate)),
    decode_rate: roundedValues(perRequest.map(m => m.decode_rate)),
    tpot: roundedValues(perRequest.map(m => m.tpot)),
    itl: roundedValues(successes.map(meanGap)),
    e2e_latency: roundedValues(perRequest.map(m => m.e2e_latency)),
    prompt_tokens: successes.flatMap(r => (r.promptTokens === null ? [] : [r.promptTokens])),
    completion_tokens: successes.flatMap(r =>
      r.completionTokens === null ? [] : [r.completionTokens]
    ),
    counts: {
      measured: measured.length,
      failed: measured.length - successes.length - cut,
      cut,
      succeeded: successes.length,
      truncated: countFinish(successes, 'length'),
      stopped: countFinish(successes, 'stop')
    }
  }
}

export function baselineRunFromResults(
  results: ResultsFile,
  meta: { commit: string | null; ref: string | null }
): BaselineRun {
  return {
    commit: meta.commit,
    ref: meta.ref,
    date: results.startedAt,
    runner: results.runner,
    summary: results.summary,
    samples: baselineSamples(results.requests)
  }
}

export interface AppendedBaseline {
  file: BaselineFile
  /** Says when the stored history was dropped because the settings changed; null otherwise. */
  note: string | null
}

/**
 * Adds `run` as the newest run and keeps the last `history` runs. A file made with other
 * settings (another fingerprint) is not comparable, so its history is dropped and a new one
 * starts with this run.
 */
export function appendRun(
  file: BaselineFile | null,
  name: string,
  fingerprint: SettingsFingerprint,
  run: BaselineRun,
  history: number
): AppendedBaseline {
  if (!Number.isInteger(history) || history < 1) {
    throw invalidInput('history', history, 'a whole number of runs, at least 1')
  }
  const sameSettings = file !== null && file.fingerprint.hash === fingerprint.hash
  const previous = sameSettings ? file.runs : []
  const note =
    file !== null && !sameSettings
      ? `The baseline '${file.name}' was made with other settings (fingerprint ` +
        `${file.fingerprint.hash}, now ${fingerprint.hash}): its ${file.runs.length} run(s) ` +
        `were dropped and a new history starts with this run.`
      : null
  return {
    file: {
      schema: BASELINE_SCHEMA,
      schemaVersion: BASELINE_SCHEMA_VERSION,
      name,
      fingerprint,
      runs: [...previous, run].slice(-history)
    },
    note
  }
}

export type BenchFile =
  { kind: 'baseline'; baseline: BaselineFile } | { kind: 'results'; results: ResultsFile }

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function versionProblem(
  source: string,
  kind: string,
  found: unknown,
  supported: number
): UserError | null {
  if (found === supported) return null
  if (typeof found !== 'number') {
    return new UserError(
      `${source}: the ${kind} file has no valid schemaVersion (got '${String(found)}')`
    )
  }
  return found > supported
    ? new UserError(
        `${source} is a ${kind} file of schema version ${found}, newer than this llm-bench ` +
          `reads (${supported}): upgrade llm-bench`
      )
    : new UserError(
        `${source} is a ${kind} file of schema version ${found}, older than this llm-bench ` +
          `reads (${supported}): delete it to start a new baseline, or compare with the ` +
          `llm-bench version that wrote it`
      )
}

function checkBaselineShape(value: Record<string, unknown>, source: string): BaselineFile {
  const fingerprint = value.fingerprint
  const runs = value.runs
  if (!isObject(fingerprint) || typeof fingerprint.hash !== 'string') {
    throw new UserError(`${source}: the baseline file has no settings fingerprint`)
  }
  const badRun = Array.isArray(runs)
    ? runs.findIndex(run => !isObject(run) || !isObject(run.summary) || !isObject(run.samples))
    : 0
  if (!Array.isArray(runs) || badRun >= 0) {
    throw new UserError(
      `${source}: the baseline file's runs must be a list of runs with summary and samples` +
        (Array.isArray(runs) ? `, but run ${badRun + 1} is not` : '')
    )
  }
  return value as unknown as BaselineFile
}

/** Reads a baseline file or a results file, checking its schema and version. */
export function parseBenchFile(text: string, source: string): BenchFile {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UserError(`${source} is not valid JSON: ${errorMessage(error)}`)
  }
  const schema = isObject(value) ? value.schema : undefined
  if (!isObject(value) || (schema !== BASELINE_SCHEMA && schema !== RESULTS_SCHEMA)) {
    throw new UserError(
      `${source} must be an llm-bench baseline ('${BASELINE_SCHEMA}') or results ` +
        `('${RESULTS_SCHEMA}') file but its schema is '${String(schema)}'`
    )
  }
  if (schema === BASELINE_SCHEMA) {
    const problem = versionProblem(source, 'baseline', value.schemaVersion, BASELINE_SCHEMA_VERSION)
    if (problem) throw problem
    return { kind: 'baseline', baseline: checkBaselineShape(value, source) }
  }
  const problem = versionProblem(source, 'results', value.schemaVersion, RESULTS_SCHEMA_VERSION)
  if (problem) throw problem
  if (!Array.isArray(value.requests) || !isObject(value.summary) || !isObject(value.fingerprint)) {
    throw new UserError(`${source}: the results file lacks its requests, summary or fingerprint`)
  }
  return { kind: 'results', results: value as unknown as ResultsFile }
}

/** A one-run baseline made of a results file, so a results file can serve as a baseline. */
export function baselineFromResults(results: ResultsFile, name: string): BaselineFile {
  return {
    schema: BASELINE_SCHEMA,
    schemaVersion: BASELINE_SCHEMA_VERSION,
    name,
    fingerprint: results.fingerprint,
    runs: [baselineRunFromResults(results, { commit: null, ref: null })]
  }
}

/**
 * Reads a baseline file, or a results file as a one-run baseline, so `baseline-file` and
 * `llm-bench compare` take either.
 */
export function parseBaselineFile(text: string, source: string): BaselineFile {
  const file = parseBenchFile(text, source)
  return file.kind === 'baseline' ? file.baseline : baselineFromResults(file.results, source)
}

/** The newest run of a file and how it ended, as the gate's `current` input. */
export function currentFromBenchFile(file: BenchFile): {
  fingerprint: SettingsFingerprint
  run: BaselineRun
  status: RunStatus
  reason: string | null
} {
  if (file.kind === 'results') {
    const { results } = file
    const run = baselineRunFromResults(results, { commit: null, ref: null })
    return { fingerprint: results.fingerprint, run, status: results.status, reason: results.reason }
  }
  const run = file.baseline.runs.at(-1)
  if (!run) throw new UserError(`The baseline '${file.baseline.name}' holds no run to compare`)
  return { fingerprint: file.baseline.fingerprint, run, status: 'completed', reason: null }
}
