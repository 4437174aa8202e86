/**
 * The action, start to end: inputs → dataset caches → benchmark → results file → baseline →
 * verdict → job summary, outputs, annotations, PR comment → baseline save. Every report is
 * written whatever happened to the run (failed, aborted, cancelled); only the verdict decides
 * whether the step fails, and that decision is returned to index.ts, the one place that fails it.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

import * as core from '@actions/core'
import { getOctokit } from '@actions/github'

import { baselineRunFromResults, type BaselineFile } from '../baseline/store.js'
import { runBenchmark, writeResultsFile } from '../benchmark.js'
import type { LoadProgress } from '../engine/load.js'
import { errorMessage } from '../errors.js'
import { compareRuns } from '../gate/compare.js'
import type { Comparison } from '../gate/types.js'
import { regressionAnnotations } from '../report/annotations.js'
import { upsertPrComment } from '../report/comment.js'
import { renderJobSummary, renderPrComment, type ReportInput } from '../report/markdown.js'
import { renderProgressLine, renderSettingsBanner } from '../report/terminal.js'
import type { ResultsFile } from '../results/schema.js'
import {
  baselineSaveDecision,
  loadBaseline,
  saveBaseline,
  type LoadedBaseline
} from './baseline-cache.js'
import { isPullRequestEvent, readRunContext, type RunContext } from './context.js'
import { restoreDatasetCaches, saveDatasetCaches } from './dataset-cache.js'
import { maskSecrets, readConfig, type ActionConfig } from './inputs.js'
import { postCommentFile } from './post-comment.js'
import { actionsLogger } from './logger.js'
import { headlineFigures, regressionsOf, setOutputs } from './outputs.js'
import { trendPoints } from './trend.js'

const PROGRESS_EVERY_MS = 5_000

/** Runs the action; resolves to the one-line reason the step fails, or null when it passes. */
export async function run(): Promise<string | null> {
  // Secrets first: nothing may log an input before it is masked.
  maskSecrets()
  const config = readConfig()
  const context = readRunContext()
  if (config.postCommentFile) {
    await postCommentFile(config, context, config.postCommentFile)
    return null
  }
  const cancel = cancelOnSignals()
  try {
    const results = await benchmark(config, cancel.signal)
    const cancelled = cancel.signal.aborted
    // A cancelled job has seconds left and its verdict is `failed` whatever the baseline says.
    const baseline: LoadedBaseline = cancelled
      ? { file: null, source: null }
      : await loadBaseline(config, context, results.fingerprint.hash)
    const comparison = compare(config, context, results, baseline.file)
    await report(config, context, results, comparison, baseline)
    if (!cancelled) await saveBaselineWhenDue(config, context, results, baseline.file)
    return failureOf(config, results, comparison)
  } finally {
    cancel.dispose()
  }
}

/**
 * The job is cancelled with SIGINT (then SIGTERM, then a kill a few seconds later): stop the
 * load at once so the results and the summary of what was measured are still written.
 */
function cancelOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return
    core.warning(`${signal}: the job is being cancelled; writing the results measured so far.`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

async function benchmark(config: ActionConfig, signal: AbortSignal): Promise<ResultsFile> {
  const { settings } = config
  const datasetCache = await restoreDatasetCaches(settings.dataset)
  let lastProgress = -Infinity
  const onProgress = (progress: LoadProgress): void => {
    if (progress.elapsedMs - lastProgress < PROGRESS_EVERY_MS) return
    lastProgress = progress.elapsedMs
    core.info(renderProgressLine(progress, settings.load.durationMs))
  }
  const results = await runBenchmark({
    settings,
    log: actionsLogger,
    signal,
    onProgress,
    onDatasetReady: dataset => {
      core.startGroup('Benchmark settings')
      core.info(renderSettingsBanner(settings, dataset.facts))
      core.endGroup()
    }
  })
  core.info(`Benchmark ${results.status}${results.reason ? `: ${results.reason}` : ''}.`)
  core.info(headline(results))
  // A cancelled job has seconds left: uploading caches is not worth them.
  if (!signal.aborted) await saveDatasetCaches(settings.dataset, datasetCache, results.dataset)
  await writeResultsFile(config.resultsFile, results)
  core.info(`Results written to ${config.resultsFile}.`)
  return results
}

function compare(
  config: ActionConfig,
  context: RunContext,
  results: ResultsFile,
  baseline: BaselineFile | null
): Comparison {
  const run = baselineRunFromResults(results, { commit: context.commit, ref: context.branch })
  const current = {
    fingerprint: results.fingerprint,
    run,
    status: results.status,
    reason: results.reason
  }
  const comparison = compareRuns(baseline, current, {
    thresholds: config.thresholds,
    confidence: config.confidence
  })
  core.info(`Verdict: ${comparison.verdict}. ${comparison.reason}`)
  return comparison
}

async function report(
  config: ActionConfig,
  context: RunContext,
  results: ResultsFile,
  comparison: Comparison,
  baseline: LoadedBaseline
): Promise<void> {
  const input: ReportInput = {
    name: config.name,
    results,
    comparison,
    history: trendPoints(baseline.file, results, config.thresholds, context.commit),
    runUrl: runUrl(context),
    baselineNote: baselineNote(config, context, baseline)
  }
  const summary = renderJobSummary(input)
  await writeJobSummary(summary)
  await mkdir(dirname(resolve(config.summaryFile)), { recursive: true })
  await writeFile(config.summaryFile, summary)
  const commentBody = renderPrComment(input)
  await mkdir(dirname(resolve(config.commentFile)), { recursive: true })
  await writeFile(config.commentFile, commentBody)
  setOutputs({
    verdict: comparison.verdict,
    regressions: JSON.stringify(regressionsOf(comparison)),
    'results-file': resolve(config.resultsFile),
    'summary-file': resolve(config.summaryFile),
    'comment-file': resolve(config.commentFile),
    ...headlineFigures(results)
  })
  annotate(config, comparison)
  await comment(config, context, commentBody)
}

/** The job summary needs GITHUB_STEP_SUMMARY, which only a runner sets. */
async function writeJobSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.debug('GITHUB_STEP_SUMMARY is not set: no job summary (the summary file has the report)')
    return
  }
  try {
    await core.summary.addRaw(markdown).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`)
  }
}

/** Errors when the regression fails the job, warnings when it is only reported. */
function annotate(config: ActionConfig, comparison: Comparison): void {
  for (const { title, message } of regressionAnnotations(comparison)) {
    if (config.failOnRegression) core.error(message, { title })
    else core.warning(message, { title })
  }
}

async function comment(config: ActionConfig, context: RunContext, body: string): Promise<void> {
  if (!isPullRequestEvent(context)) {
    core.debug(`no pull-request comment on a '${context.eventName}' event`)
    return
  }
  if (!config.commentOnPr) {
    core.info("No pull-request comment: 'comment-on-pr' is 'false'.")
    return
  }
  if (!config.githubToken || context.pullRequestNumber === null || !context.owner) {
    core.warning(
      "No pull-request comment: the 'github-token' input is empty or the event names no pull " +
        "request. Pass 'github-token: ${{ github.token }}' (the default) to get one."
    )
    return
  }
  const octokit = getOctokit(config.githubToken)
  const target = {
    owner: context.owner,
    repo: context.repo,
    issueNumber: context.pullRequestNumber
  }
  await upsertPrComment(octokit, target, config.name, body, actionsLogger)
}

async function saveBaselineWhenDue(
  config: ActionConfig,
  context: RunContext,
  results: ResultsFile,
  previous: BaselineFile | null
): Promise<void> {
  const decision = baselineSaveDecision(config, context)
  if (!decision.save) {
    core.info(`Baseline not saved: ${decision.why}.`)
    return
  }
  if (results.status !== 'completed') {
    core.info(`Baseline not saved: the run ${results.status}, so it is no reference.`)
    return
  }
  core.info(`Saving the baseline: ${decision.why}.`)
  await saveBaseline(config, context, results, previous)
}

function baselineNote(config: ActionConfig, context: RunContext, baseline: LoadedBaseline): string {
  if (baseline.source) return `Read from ${baseline.source}.`
  const branch = context.baseBranch ?? context.branch
  return (
    `No baseline '${config.name}' of '${branch}' yet: one is saved by a push, schedule or manual ` +
    "run of the default branch (save-baseline: auto), or give one with 'baseline-file'."
  )
}

function runUrl(context: RunContext): string | null {
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com'
  if (!context.repository || context.runId === 'local') return null
  return `${server}/${context.repository}/actions/runs/${context.runId}`
}

/** The figures a reader of the log wants first, in one line. */
function headline(results: ResultsFile): string {
  const figures = headlineFigures(results)
  const or = (value: string, unit: string): string => (value ? `${value}${unit}` : 'none')
  return (
    `${figures.requests} measured requests: TTFT p95 ${or(figures['ttft-p95-ms'], ' ms')}, ` +
    `decode median ${or(figures['decode-rate-median'], ' tokens/s')}, ` +
    `${or(figures['output-tokens-per-second'], '')} output tokens/s, ` +
    `error rate ${or(figures['error-rate'], '')}.`
  )
}

/** One line: why the step fails, or null. */
function failureOf(
  config: ActionConfig,
  results: ResultsFile,
  comparison: Comparison
): string | null {
  if (results.status !== 'completed') {
    const what = results.status === 'failed' ? 'failed' : `was ${results.status}`
    return `The benchmark ${what}: ${results.reason ?? 'no reason given'}`
  }
  if (comparison.verdict === 'regression' && config.failOnRegression) {
    const names = regressionsOf(comparison)
      .map(r => `${r.metric}${r.stat === 'value' ? '' : ` ${r.stat}`}`)
      .join(', ')
    return `Performance regression (${names}): ${comparison.reason}`
  }
  return null
}
