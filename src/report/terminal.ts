/**
 * What the CLI prints: the settings before a run (like the k6 script's `setup()`), one
 * progress line while it runs, and the summary after it. Plain text, no colours (logs of CI
 * runs keep it readable); every foreign string goes through `sanitizeText` so a server cannot
 * send escape sequences to the user's terminal.
 */
import type { LoadProgress } from '../engine/load.js'
import type { BenchSettings } from '../config/settings.js'
import type { Comparison, MetricComparison } from '../gate/types.js'
import { METRICS } from '../metrics/catalog.js'
import type { Distribution, DistributionMetricId, RunSummary } from '../metrics/types.js'
import type { DatasetFacts, ResultsFile } from '../results/schema.js'
import { redactUrl, sanitizeText } from './escape.js'
import {
  VERDICT_STYLES,
  metricVerdictStyle,
  baselineDescription,
  collectWarnings,
  confidenceLabel,
  gatedMetrics,
  reportedOnlyMetrics,
  requestCounts,
  runLength,
  runVerdict,
  topErrors,
  scalarRows
} from './facts.js'
import {
  MISSING,
  directionArrow,
  formatBytes,
  formatChange,
  formatClock,
  formatCount,
  formatDuration,
  formatInterval,
  formatLimit,
  formatMs,
  formatNoise,
  formatPValue,
  formatRate,
  formatRatio,
  formatSignificant,
  formatValue,
  metricLabel
} from './format.js'

type Align = 'left' | 'right'

/** Columns padded to their widest cell; numbers right-aligned so their digits line up. */
export function renderTextTable(header: string[], rows: string[][], align: Align[] = []): string {
  const widths = header.map((cell, column) =>
    Math.max([...cell].length, ...rows.map(row => [...(row[column] ?? '')].length))
  )
  const pad = (cell: string, column: number): string => {
    const fill = ' '.repeat(widths[column] - [...cell].length)
    return (align[column] ?? 'left') === 'right' ? fill + cell : cell + fill
  }
  const line = (row: string[]): string =>
    row
      .map((cell, column) => pad(cell ?? '', column))
      .join('  ')
      .trimEnd()
  const rule = widths.map(width => '─'.repeat(width)).join('  ')
  return [line(header), rule, ...rows.map(line)].join('\n')
}

/** `Label        value` lines with the labels padded to one width. */
function renderFields(fields: [string, string][], indent = '  '): string {
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join('\n')
}

function describeLoad(load: BenchSettings['load']): string {
  if (load.rate > 0) {
    const cap =
      load.concurrency > 0
        ? `, at most ${formatCount(load.concurrency)} in flight`
        : ', no cap on requests in flight'
    return `open loop: ${formatSignificant(load.rate)} requests/s, Poisson arrivals (seed ${load.arrivalSeed})${cap}`
  }
  return `closed loop: ${formatCount(load.concurrency)} virtual users, think time ${formatDuration(load.thinkTimeMs)}`
}

function describeLength(load: BenchSettings['load']): string {
  const parts = [formatDuration(load.durationMs)]
  if (load.requests > 0)
    parts.push(`or ${formatCount(load.requests)} requests, whichever comes first`)
  return parts.join(' ')
}

function describeAbort(load: BenchSettings['load']): string {
  const rules: string[] = []
  if (load.abortTruncatedRate < 1) rules.push(`truncated > ${formatRatio(load.abortTruncatedRate)}`)
  if (load.abortErrorRate < 1) rules.push(`errors > ${formatRatio(load.abortErrorRate)}`)
  if (rules.length === 0) return 'never'
  return `when ${rules.join(' or ')}, checked after ${formatDuration(load.abortAfterMs)}`
}

function describeDataset(settings: BenchSettings, dataset: DatasetFacts | null): string {
  const source = sanitizeText(redactUrl(dataset?.source ?? settings.dataset.source), 200)
  if (!dataset) return source
  const sha = dataset.sha256 ? `, sha256 ${dataset.sha256.slice(0, 12)}…` : ''
  const cache = dataset.fromPreparedCache ? ', from the prepared-prompt cache' : ''
  return `${source} (${formatBytes(dataset.bytes)}${sha}${cache})`
}

function describePrompts(settings: BenchSettings, dataset: DatasetFacts | null): string {
  const filters =
    `≥ ${settings.dataset.minTurns} turns, ${settings.dataset.minTokens}–${settings.dataset.maxPromptTokens} prompt tokens, ` +
    `context ≤ ${formatCount(settings.dataset.maxContext)}`
  const kept = dataset
    ? `${formatCount(dataset.prompts)} of ${formatCount(settings.dataset.nPrompts)} wanted`
    : formatCount(settings.dataset.nPrompts)
  return `${kept} (${filters})`
}

/**
 * The settings as the run will use them, printed before it starts. Secrets never appear:
 * the API key is `set` or `not set`, headers and extra body fields show their names only,
 * credentials in URLs are masked.
 */
export function renderSettingsBanner(
  settings: BenchSettings,
  dataset: DatasetFacts | null
): string {
  const { request, load } = settings
  const headerNames = Object.keys(request.headers)
  const extraFields = Object.keys(request.extraBody)
  const fields: [string, string][] = [
    ['Server', sanitizeText(redactUrl(request.serverUrl), 200)],
    ['Model', sanitizeText(request.model)],
    ['API key', request.apiKey ? 'set' : 'not set'],
    ...(headerNames.length > 0
      ? [['Headers', `${sanitizeText(headerNames.join(', '))} (values hidden)`] as [string, string]]
      : []),
    ...(extraFields.length > 0
      ? [['Extra body', sanitizeText(extraFields.join(', '))] as [string, string]]
      : []),
    ['Dataset', describeDataset(settings, dataset)],
    ['Prompts', describePrompts(settings, dataset)],
    ['Max tokens', formatCount(request.maxTokens)],
    ['Load', describeLoad(load)],
    ['Duration', describeLength(load)],
    ['Warmup', `${formatCount(load.warmupRequests)} requests, not measured`],
    [
      'Timeouts',
      `request ${formatDuration(request.requestTimeoutMs)}, server ready ${formatDuration(load.readyTimeoutMs)}, grace ${formatDuration(load.graceMs)}`
    ],
    ['Abort', describeAbort(load)],
    ['Seed', request.seed === null ? 'none' : String(request.seed)]
  ]
  return ['llm-bench: benchmark settings', renderFields(fields)].join('\n')
}

/**
 * One line of progress, e.g.
 * `[measured] 01:23 / 10:00 (14%)  sent 120  done 110  errors 2  in flight 8  TTFT avg 812 ms  decode avg 35.2 tok/s`.
 * Warmup has no end time to count towards, so it shows the elapsed time only.
 */
export function renderProgressLine(p: LoadProgress, durationMs: number): string {
  const clock =
    p.phase === 'measured' && durationMs > 0
      ? `${formatClock(p.elapsedMs)} / ${formatClock(durationMs)} (${Math.min(100, Math.floor((p.elapsedMs / durationMs) * 100))}%)`
      : formatClock(p.elapsedMs)
  return [
    `[${p.phase}] ${clock}`,
    `sent ${formatCount(p.sent)}`,
    `done ${formatCount(p.done)}`,
    `errors ${formatCount(p.errors)}`,
    `in flight ${formatCount(p.inFlight)}`,
    `TTFT avg ${p.ttftMsAvg === null ? MISSING : formatMs(p.ttftMsAvg)}`,
    `decode avg ${p.decodeRateAvg === null ? MISSING : formatRate(p.decodeRateAvg)}`
  ].join('  ')
}

const DISTRIBUTION_STATS = ['avg', 'min', 'med', 'p90', 'p95', 'p99', 'max'] as const

function distributionRow(
  id: DistributionMetricId,
  title: string,
  arrow: string,
  d: Distribution
): string[] {
  return [
    `${title} ${arrow}`,
    ...DISTRIBUTION_STATS.map(stat => formatValue(id, d[stat])),
    formatCount(d.n)
  ]
}

function renderDistributions(summary: RunSummary): string {
  const rows = METRICS.filter(metric => metric.kind === 'distribution').map(metric => {
    const id = metric.id as DistributionMetricId
    return distributionRow(
      id,
      metric.title,
      directionArrow(metric.direction),
      summary.distributions[id]
    )
  })
  const align: Align[] = ['left', ...DISTRIBUTION_STATS.map((): Align => 'right'), 'right']
  return renderTextTable(['Metric', ...DISTRIBUTION_STATS, 'n'], rows, align)
}

function renderScalars(summary: RunSummary): string {
  return renderTextTable(['Metric', 'value'], scalarRows(summary), ['left', 'right'])
}

function renderTotals(summary: RunSummary): string {
  const estimated = summary.totals.completion_tokens_estimated ? ' (some estimated)' : ''
  return `Tokens: ${formatCount(summary.totals.prompt_tokens)} prompt, ${formatCount(summary.totals.completion_tokens)} completion${estimated}`
}

function comparisonRow(metric: MetricComparison): string[] {
  return [
    `${metricLabel(metric.metric, metric.stat)} ${directionArrow(metricDirection(metric))}`,
    formatValue(metric.metric, metric.baseline),
    formatValue(metric.metric, metric.current),
    formatChange(metric.metric, metric.relativeChange),
    formatInterval(metric.relativeChangeCi),
    formatPValue(metric.pValue),
    formatNoise(metric.historyNoise),
    formatLimit(metric.threshold),
    `${metricVerdictStyle(metric).symbol} ${metricVerdictStyle(metric).title}`
  ]
}

function metricDirection(metric: MetricComparison): 'lower-is-better' | 'higher-is-better' {
  return METRICS.find(definition => definition.id === metric.metric)?.direction ?? 'lower-is-better'
}

function comparisonTextTable(comparison: Comparison, metrics: MetricComparison[]): string {
  const header = [
    'Metric',
    'baseline',
    'current',
    'change',
    confidenceLabel(comparison),
    'p',
    'noise',
    'limit',
    'verdict'
  ]
  const align: Align[] = [
    'left',
    'right',
    'right',
    'left',
    'left',
    'right',
    'right',
    'left',
    'left'
  ]
  const table = renderTextTable(header, metrics.map(comparisonRow), align)
  const explanations = metrics.map(
    metric => `  ${metricLabel(metric.metric, metric.stat)}: ${sanitizeText(metric.explanation)}`
  )
  return [table, ...explanations].join('\n')
}

function renderComparison(comparison: Comparison): string[] {
  const sections: string[] = []
  const baseline = baselineDescription(comparison)
  const gated = gatedMetrics(comparison)
  if (gated.length > 0) {
    sections.push(
      `Gated metrics, against the baseline (${sanitizeText(baseline ?? 'none')}):\n${comparisonTextTable(comparison, gated)}`
    )
  }
  const others = reportedOnlyMetrics(comparison)
  if (others.length > 0)
    sections.push(`Also compared (not gated):\n${comparisonTextTable(comparison, others)}`)
  if (comparison.differences.length > 0) {
    sections.push(
      `Settings that differ from the baseline:\n${comparison.differences.map(d => `  - ${sanitizeText(d)}`).join('\n')}`
    )
  }
  return sections
}

/**
 * A comparison on its own, for `llm-bench compare`: each compared metric against its baseline
 * (gated first, regressions first), the differing settings, the warnings, and the verdict.
 */
export function renderComparisonTable(comparison: Comparison): string {
  const sections = renderComparison(comparison)
  if (comparison.warnings.length > 0) {
    sections.push(
      `Warnings:\n${comparison.warnings.map(w => `  ! ${sanitizeText(w, 500)}`).join('\n')}`
    )
  }
  const style = VERDICT_STYLES[comparison.verdict]
  sections.push(`Verdict: ${style.symbol} ${style.title}: ${sanitizeText(comparison.reason, 500)}`)
  return sections.join('\n\n')
}

function renderFailure(results: ResultsFile): string[] {
  if (results.status === 'completed') return []
  const lines = [`The run ${results.status}: ${sanitizeText(results.reason ?? 'no reason given')}`]
  lines.push(`Measured requests: ${requestCounts(results)}`)
  for (const error of topErrors(results)) {
    lines.push(
      `  ${formatCount(error.count)} × ${error.errorClass}: ${sanitizeText(error.message, 200)}`
    )
  }
  return [lines.join('\n')]
}

/**
 * Everything a terminal user needs after a run: the status, every metric of the catalog
 * (avg, min, med, p90, p95, p99, max, n), rates, throughput, totals, warnings, and, given a
 * comparison, each compared metric against its baseline and the overall verdict, last, where
 * the eye lands when the output stops.
 */
export function renderTerminalSummary(
  results: ResultsFile,
  comparison?: Comparison | null
): string {
  const { summary } = results
  const { verdict, reason } = runVerdict(results, comparison)
  const style = VERDICT_STYLES[verdict]
  const model = results.server.model ?? results.settings.request.model
  const sections = [
    `llm-bench results: ${sanitizeText(model)} at ${sanitizeText(redactUrl(results.server.url), 200)}\n` +
      `Status: ${results.status}${results.reason ? ` (${sanitizeText(results.reason)})` : ''}, ${runLength(results)}\n` +
      `Requests: ${requestCounts(results)}`,
    ...renderFailure(results),
    renderDistributions(summary),
    renderScalars(summary),
    `${renderTotals(summary)}\nClient event-loop lag: p99 ${formatMs(summary.client.event_loop_lag.p99)}, max ${formatMs(summary.client.event_loop_lag.max)}` +
      `\n↓ lower is better, ↑ higher is better`
  ]
  const warnings = collectWarnings(results, comparison)
  if (warnings.length > 0) {
    const shown = warnings.slice(0, 20).map(warning => `  ! ${sanitizeText(warning, 500)}`)
    if (warnings.length > 20) shown.push(`  … and ${warnings.length - 20} more`)
    sections.push(`Warnings:\n${shown.join('\n')}`)
  }
  if (comparison) {
    sections.push(...renderComparison(comparison))
    sections.push(`Verdict: ${style.symbol} ${style.title}: ${sanitizeText(reason, 500)}`)
  }
  return sections.join('\n\n')
}
