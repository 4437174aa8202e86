/**
 * What every report says, decided once: the verdict of a run with or without a comparison,
 * which comparisons to show first, which warnings to raise, which errors were most common.
 * The terminal and Markdown renderers only differ in how they draw these.
 */
import type { Comparison, MetricComparison, MetricVerdict, Verdict } from '../gate/types.js'
import type { ResultsFile } from '../results/schema.js'
import { METRICS } from '../metrics/catalog.js'
import type { RunSummary } from '../metrics/types.js'
import { directionArrow, formatCount, formatDuration, formatValue } from './format.js'

export interface VerdictStyle {
  /** For Markdown, where GitHub renders emoji. */
  emoji: string
  /** For the terminal, where one-column symbols keep tables aligned. */
  symbol: string
  title: string
}

export const VERDICT_STYLES: Record<Verdict, VerdictStyle> = {
  pass: { emoji: '✅', symbol: '✓', title: 'Pass' },
  regression: { emoji: '❌', symbol: '✗', title: 'Regression' },
  'no-baseline': { emoji: '🆕', symbol: '○', title: 'No baseline' },
  'not-comparable': { emoji: '⚠️', symbol: '!', title: 'Not comparable' },
  failed: { emoji: '💥', symbol: '✗', title: 'Run failed' }
}

export const METRIC_VERDICT_STYLES: Record<MetricVerdict, VerdictStyle> = {
  pass: { emoji: '✅', symbol: '✓', title: 'pass' },
  improvement: { emoji: '🚀', symbol: '✓', title: 'improvement' },
  regression: { emoji: '❌', symbol: '✗', title: 'regression' },
  'within-noise': { emoji: '〰️', symbol: '~', title: 'within noise' },
  inconclusive: { emoji: '❔', symbol: '?', title: 'inconclusive' }
}

/** A metric that is not gated cannot regress the run: its significant worsening is only "worse". */
const NOT_GATED_WORSE: VerdictStyle = { emoji: '🔸', symbol: '▲', title: 'worse (not gated)' }

export function metricVerdictStyle(metric: MetricComparison): VerdictStyle {
  if (!metric.gated && metric.verdict === 'regression') return NOT_GATED_WORSE
  return METRIC_VERDICT_STYLES[metric.verdict]
}

export interface RunVerdict {
  verdict: Verdict
  reason: string
}

/**
 * The verdict to show: the gate's when it ran; otherwise `failed` for a run that did not
 * complete, and `no-baseline` for one that did (nothing was compared).
 */
export function runVerdict(
  results: ResultsFile,
  comparison: Comparison | null | undefined
): RunVerdict {
  if (comparison) return { verdict: comparison.verdict, reason: comparison.reason }
  if (results.status !== 'completed') {
    return {
      verdict: 'failed',
      reason: results.reason ?? `The run ended with status ${results.status}.`
    }
  }
  return { verdict: 'no-baseline', reason: 'No baseline was given, so nothing was compared.' }
}

/** Regressions first (a reader looks for them), then the rest in the gate's order. */
export function byRegressionFirst(metrics: MetricComparison[]): MetricComparison[] {
  const rank = (metric: MetricComparison): number => (metric.verdict === 'regression' ? 0 : 1)
  return metrics
    .map((metric, index) => ({ metric, index }))
    .sort((a, b) => rank(a.metric) - rank(b.metric) || a.index - b.index)
    .map(entry => entry.metric)
}

export function gatedMetrics(comparison: Comparison | null | undefined): MetricComparison[] {
  return byRegressionFirst(comparison?.metrics.filter(metric => metric.gated) ?? [])
}

export function reportedOnlyMetrics(comparison: Comparison | null | undefined): MetricComparison[] {
  return byRegressionFirst(comparison?.metrics.filter(metric => !metric.gated) ?? [])
}

export function gatedRegressions(comparison: Comparison | null | undefined): MetricComparison[] {
  return gatedMetrics(comparison).filter(metric => metric.verdict === 'regression')
}

/** Every warning a reader should see, once each: the run's own and the comparison's. */
export function collectWarnings(
  results: ResultsFile,
  comparison: Comparison | null | undefined
): string[] {
  return [...new Set([...results.warnings, ...(comparison?.warnings ?? [])])]
}

export interface ErrorGroup {
  errorClass: string
  message: string
  count: number
}

/** The most common failures of measured requests, by class and message, most frequent first. */
export function topErrors(results: ResultsFile, limit = 3): ErrorGroup[] {
  const groups = new Map<string, ErrorGroup>()
  for (const request of results.requests) {
    if (request.phase !== 'measured' || request.error === null) continue
    const key = `${request.error.class}\u0000${request.error.message}`
    const group = groups.get(key)
    if (group) group.count += 1
    else
      groups.set(key, { errorClass: request.error.class, message: request.error.message, count: 1 })
  }
  return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, limit)
}

/** `480 sent, 478 succeeded, 2 failed (http: 2), 0 cut`: what the measured phase amounted to. */
export function requestCounts(results: ResultsFile): string {
  const { sent, succeeded, failed, errorsByClass, cut } = results.summary.requests
  const classes = Object.entries(errorsByClass)
    .filter(([, count]) => count > 0)
    .map(([errorClass, count]) => `${errorClass}: ${formatCount(count)}`)
  const failedText =
    classes.length > 0
      ? `${formatCount(failed)} failed (${classes.join(', ')})`
      : `${formatCount(failed)} failed`
  return `${formatCount(sent)} sent, ${formatCount(succeeded)} succeeded, ${failedText}, ${formatCount(cut)} cut`
}

/** How long the run took, wall clock and measured window. */
export function runLength(results: ResultsFile): string {
  const wall = Date.parse(results.endedAt) - Date.parse(results.startedAt)
  const window = formatDuration(results.summary.windowMs)
  return Number.isFinite(wall)
    ? `${formatDuration(wall)} (measured window ${window})`
    : `measured window ${window}`
}

/** Short commit for display: the first 7 hex digits, the way GitHub shows them. */
export function shortSha(sha: string | null | undefined): string | null {
  if (!sha) return null
  return /^[0-9a-f]{8,40}$/i.test(sha) ? sha.slice(0, 7) : sha
}

/** `3 runs, commit abc1234 on main, 2024-05-01`: where the baseline came from. */
export function baselineDescription(comparison: Comparison | null | undefined): string | null {
  const baseline = comparison?.baseline
  if (!baseline) return null
  const parts = [`${baseline.runs} run${baseline.runs === 1 ? '' : 's'}`]
  const sha = shortSha(baseline.commit)
  if (sha) parts.push(`commit ${sha}${baseline.ref ? ` on ${baseline.ref}` : ''}`)
  else if (baseline.ref) parts.push(baseline.ref)
  if (baseline.date) parts.push(baseline.date.slice(0, 10))
  return parts.join(', ')
}

/** The confidence as a percentage: `99%`. */
export function confidenceLabel(comparison: Comparison | null | undefined): string {
  const confidence = comparison?.confidence
  if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1)) return 'CI'
  return `${Number((confidence * 100).toFixed(1))}% CI`
}

/** Rates and throughputs as `[label with its direction, formatted value]`, for either table. */
export function scalarRows(summary: RunSummary): string[][] {
  return METRICS.filter(metric => metric.kind !== 'distribution').map(metric => {
    const value =
      metric.kind === 'rate'
        ? summary.rates[metric.id as keyof RunSummary['rates']]
        : summary.throughput[metric.id as keyof RunSummary['throughput']]
    return [`${metric.title} ${directionArrow(metric.direction)}`, formatValue(metric.id, value)]
  })
}
