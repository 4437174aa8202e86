/**
 * One benchmark run, end to end: prompts from the dataset, a ready server, the load, the
 * summary. Shared by the CLI and the action. It never throws for trouble with the dataset or
 * the server: the returned results say what happened, and keep every request measured.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { settingsFingerprint } from './baseline/fingerprint.js'
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
  const { settings, log, signal } = options
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

  return assembleResults(settings, startedAt, state, failure)
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

/** Written through a temporary name, so a reader never sees half a file. */
export async function writeResultsFile(file: string, results: ResultsFile): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, JSON.stringify(results, null, 2) + '\n')
  await rename(temporary, file)
}
