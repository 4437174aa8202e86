/**
 * One benchmark run, end to end: prompts from the dataset, a ready server, the load, the
 * summary. Shared by the CLI and the action. It never throws for trouble with the dataset or
 * the server: the returned results say what happened, and keep every request measured.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { settingsFingerprint } from './baseline/fingerprint.js'
import { redactUrl, scrubDeep, scrubText, scrubbingLogger, secretsOf } from './config/secrets.js'
import { redactSettings, type BenchSettings } from './config/settings.js'
import { prepareDataset } from './dataset/index.js'
import type { PreparedDataset } from './dataset/types.js'
import { runLoad, type LoadProgress, type LoadResult } from './engine/load.js'
import { waitForServer } from './engine/readiness.js'
import type { RequestRecord } from './engine/record.js'
import { UserError, errorMessage } from './errors.js'
import type { Logger } from './log.js'
import { summarize } from './metrics/summary.js'
import type { RunSummary } from './metrics/types.js'
import { collectRunnerFacts } from './results/runner.js'
import {
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  type RunStatus,
  type ServerFacts
} from './results/schema.js'
import { TOOL_VERSION } from './version.js'

/** More requests cut than this share means the load outran the server. */
const CUT_WARNING_SHARE = 0.1

export interface BenchmarkOptions {
  settings: BenchSettings
  log: Logger
  signal?: AbortSignal
  onProgress?: (progress: LoadProgress) => void
  /** Called once the prompts are ready, before waiting for the server. */
  onDatasetReady?: (dataset: PreparedDataset) => void
}

interface RunState {
  dataset: PreparedDataset | null
  server: ServerFacts
  load: LoadResult | null
}

export async function runBenchmark(options: BenchmarkOptions): Promise<ResultsFile> {
  const { settings, signal } = options
  // A server or dataset host may echo a key or a signed URL in its errors: scrub at the source.
  const secrets = secretsOf(settings)
  const log = scrubbingLogger(options.log, secrets)
  const startedAt = new Date()
  const state: RunState = { dataset: null, server: emptyServerFacts(settings), load: null }

  let failure: { status: RunStatus; reason: string } | null = null
  try {
    state.dataset = await prepareDataset(settings.dataset, log, signal)
    options.onDatasetReady?.(state.dataset)
    state.server = await waitForServer(settings.request, settings.load.readyTimeoutMs, log, signal)
    state.load = await runLoad({
      settings,
      prompts: state.dataset.prompts,
      log,
      signal,
      onProgress: options.onProgress
    })
  } catch (error) {
    failure = describeFailure(error, signal, log)
  }

  return scrubResults(await assembleResults(settings, startedAt, state, failure), secrets)
}

/**
 * Every string of the results a secret could reach: the settings, the URLs, what the server
 * sent, the error texts. Timestamps, hashes and the runner's facts are left as they are, so a
 * short secret of digits cannot garble a date.
 */
function scrubResults(results: ResultsFile, secrets: string[]): ResultsFile {
  const scrub = (text: string) => scrubText(redactUrl(text), secrets)
  return {
    ...results,
    reason: results.reason === null ? null : scrub(results.reason),
    settings: scrubDeep(results.settings, secrets),
    fingerprint: { ...results.fingerprint, fields: scrubDeep(results.fingerprint.fields, secrets) },
    dataset: results.dataset && {
      ...results.dataset,
      source: scrub(results.dataset.source),
      path: results.dataset.path === null ? null : scrub(results.dataset.path)
    },
    server: scrubDeep({ ...results.server, url: redactUrl(results.server.url) }, secrets),
    requests: results.requests.map(record =>
      record.error
        ? { ...record, error: { ...record.error, message: scrub(record.error.message) } }
        : record
    ),
    warnings: results.warnings.map(scrub)
  }
}

async function assembleResults(
  settings: BenchSettings,
  startedAt: Date,
  state: RunState,
  failure: { status: RunStatus; reason: string } | null
): Promise<ResultsFile> {
  const requests = state.load?.requests ?? []
  const summary = summarize(requests, state.load?.eventLoopLagMs ?? [])
  const outcome = failure ?? judgeLoad(state.load, summary, requests)
  const server: ServerFacts = {
    ...state.server,
    model: state.load?.model ?? state.server.model,
    systemFingerprint: state.load?.systemFingerprint ?? state.server.systemFingerprint
  }
  const datasetSha = state.dataset?.facts.sha256 ?? null

  return {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'llm-bench', version: TOOL_VERSION },
    status: outcome.status,
    reason: outcome.reason,
    startedAt: (state.load?.startedAt ?? startedAt).toISOString(),
    endedAt: (state.load?.endedAt ?? new Date()).toISOString(),
    settings: redactSettings(settings),
    fingerprint: settingsFingerprint(settings, datasetSha),
    dataset: state.dataset?.facts ?? null,
    server,
    runner: await collectRunnerFacts(),
    requests,
    summary,
    warnings: collectWarnings(summary)
  }
}

/** A load that ran may still not be a benchmark: nothing measured, or every request failed. */
function judgeLoad(
  load: LoadResult | null,
  summary: RunSummary,
  requests: RequestRecord[]
): { status: RunStatus; reason: string | null } {
  if (!load) return { status: 'failed', reason: 'the load never started' }
  if (load.status !== 'completed') return { status: load.status, reason: load.reason }
  if (summary.requests.sent === 0) {
    return {
      status: 'failed',
      reason: 'no request was measured: the run ended before any was sent'
    }
  }
  if (summary.requests.succeeded === 0 && summary.requests.failed === 0) {
    return {
      status: 'failed',
      reason: `none of the ${summary.requests.sent} measured requests finished before the run ended and its grace period ran out`
    }
  }
  if (summary.requests.succeeded === 0) {
    const first = requests.find(r => r.phase === 'measured' && r.error)?.error
    const detail = first ? `; the first error (${first.class}): ${first.message}` : ''
    return {
      status: 'failed',
      reason: `every one of the ${summary.requests.sent} measured requests failed${detail}`
    }
  }
  return { status: 'completed', reason: null }
}

function describeFailure(
  error: unknown,
  signal: AbortSignal | undefined,
  log: Logger
): { status: RunStatus; reason: string } {
  if (signal?.aborted) return { status: 'cancelled', reason: 'cancelled before the load started' }
  if (!(error instanceof UserError)) {
    log.debug(error instanceof Error ? (error.stack ?? error.message) : String(error))
  }
  return { status: 'failed', reason: errorMessage(error) }
}

function collectWarnings(summary: RunSummary): string[] {
  const warnings: string[] = []
  if (summary.client.bottleneck) {
    const lag = summary.client.event_loop_lag
    warnings.push(
      `The benchmarking client was a bottleneck (event-loop lag p99 ${lag.p99?.toFixed(1)} ms, ` +
        `max ${lag.max?.toFixed(1)} ms): its timings may include its own delay. ` +
        'Lower the concurrency or give the client a machine of its own.'
    )
  }
  const { sent, cut } = summary.requests
  if (sent > 0 && cut / sent > CUT_WARNING_SHARE) {
    warnings.push(
      `${cut} of ${sent} measured requests (${Math.round((cut / sent) * 100)}%) were still running ` +
        'when the run ended and were cut: the server could not keep up with this load, and the ' +
        "figures describe only the requests that finished. Lower 'rate' or 'concurrency', or " +
        "lengthen 'grace-period'."
    )
  }
  if (summary.totals.completion_tokens_estimated) {
    warnings.push(
      'The server sent no usage for some requests: their completion tokens were counted from ' +
        'the streamed chunks. Send stream_options.include_usage or use a server that reports usage.'
    )
  }
  return warnings
}

function emptyServerFacts(settings: BenchSettings): ServerFacts {
  return {
    url: settings.request.serverUrl,
    models: [],
    model: null,
    systemFingerprint: null,
    software: null
  }
}

/**
 * Written through a temporary name in the same directory (a rename across file systems fails),
 * so a reader never sees half a file; the temporary file is removed when anything fails.
 * `checkOutputFile` has already refused a directory, a FIFO or a device before the run.
 */
export async function writeResultsFile(file: string, results: ResultsFile): Promise<void> {
  const target = path.resolve(file)
  await mkdir(path.dirname(target), { recursive: true })
  const temporary = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`
  )
  try {
    await writeFile(temporary, JSON.stringify(results, null, 2) + '\n', { flag: 'wx' })
    await rename(temporary, target)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}
