/**
 * The GitHub reports: the job summary (everything, always) and the pull-request comment
 * (compact, updated in place). Pure: both return Markdown strings; writing them is the
 * action's job. Every string that came from the server, the dataset or the run's errors is
 * escaped with `escapeMarkdown` before it reaches a table or a line.
 */
import type { Comparison, MetricComparison } from '../gate/types.js'
import { METRICS, metricDefinition } from '../metrics/catalog.js'
import type { DistributionMetricId, MetricId, RunSummary } from '../metrics/types.js'
import type { DatasetFacts, ResultsFile, RunnerFacts, ServerFacts } from '../results/schema.js'
import { escapeMarkdown, inlineCode, redactUrl } from './escape.js'
import {
  metricVerdictStyle,
  VERDICT_STYLES,
  baselineDescription,
  collectWarnings,
  confidenceLabel,
  gatedMetrics,
  gatedRegressions,
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
  formatCount,
  formatDuration,
  formatInterval,
  formatLimit,
  formatNoise,
  formatMs,
  formatPValue,
  formatStat,
  formatValue,
  metricLabel
} from './format.js'
import { renderTrendChart } from './mermaid.js'

/** One earlier run in a trend chart. */
export interface TrendPoint {
  /** Short commit sha or date, the x-axis label. */
  label: string
  /** ISO date of the run. */
  date: string
  /** Per metric, the figure the gate compares (e.g. the p95 of TTFT, the median decode rate). */
  values: Partial<Record<MetricId, number>>
}

export interface ReportInput {
  /** The benchmark's name; several benchmarks in one workflow each get their own comment. */
  name: string
  results: ResultsFile
  comparison: Comparison | null
  /** Earlier runs, oldest first; include the current run as the last point to chart it too. */
  history: TrendPoint[]
  /** Link to the workflow run, for the comment's readers who want the full job summary. */
  runUrl?: string | null
  /** One line about the baseline, e.g. where it came from or why there is none. */
  baselineNote?: string | null
}

/** GitHub rejects issue comments longer than this many characters. */
export const PR_COMMENT_LIMIT = 65_536

/** GitHub's limit for one step's job summary is 1 MiB; stay clear of it. */
export const JOB_SUMMARY_LIMIT_BYTES = 1_000_000

/** Warnings shown before the rest are summarized as a count. */
const MAX_WARNINGS = 20

/** Charts drawn at most; the gated metrics come first. */
const MAX_CHARTS = 4

/**
 * The hidden marker that identifies this action's comment for this benchmark `name`, so a
 * later run updates it instead of adding another. The name cannot end the HTML comment:
 * `>` and a second `-` in a row are percent-encoded, along with anything outside a safe set.
 */
export function commentMarker(name: string): string {
  const percent = (character: string): string =>
    [...Buffer.from(character, 'utf8')]
      .map(byte => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('')
  const safeName = name.replace(/[^A-Za-z0-9 _.:/+=@()[\]-]/g, percent).replace(/--/g, '-%2D')
  return `<!-- llm-bench-action: name=${safeName} -->`
}

type Align = 'left' | 'right' | 'center'

/** A GitHub table; cells must already be escaped. */
export function markdownTable(header: string[], rows: string[][], align: Align[] = []): string {
  const rule = header.map((_, column) => {
    const side = align[column] ?? 'left'
    return side === 'right' ? '---:' : side === 'center' ? ':---:' : '---'
  })
  const line = (cells: string[]): string => `| ${cells.map(cell => cell || ' ').join(' | ')} |`
  return [line(header), line(rule), ...rows.map(line)].join('\n')
}

function bulletList(items: string[]): string {
  return items.map(item => `- ${item}`).join('\n')
}

function link(text: string, url: string | null | undefined): string {
  if (!url || !/^https?:\/\//i.test(url)) return text
  // Parentheses and spaces would end the link target early.
  const target = url.replace(/[()\s<>]/g, character => encodeURIComponent(character))
  return `[${text}](${target})`
}

// ---------------------------------------------------------------------------------------------
// Verdict

function verdictHeading(input: ReportInput, level: '##' | '###'): string {
  const { verdict } = runVerdict(input.results, input.comparison)
  const style = VERDICT_STYLES[verdict]
  return `${level} ${style.emoji} ${style.title}: llm-bench ${escapeMarkdown(input.name, 100)}`
}

function verdictReason(input: ReportInput): string {
  return escapeMarkdown(runVerdict(input.results, input.comparison).reason, 500)
}

/** `**Regressed:** Time to first token p95 +23.4% ▲ worse (limit 10% worse)`: named first. */
function regressionLine(comparison: Comparison | null): string | null {
  const regressions = gatedRegressions(comparison)
  if (regressions.length === 0) return null
  const names = regressions.map(
    metric =>
      `${metricLabel(metric.metric, metric.stat)} ${formatChange(metric.metric, metric.relativeChange)}` +
      (metric.threshold ? ` (limit ${formatLimit(metric.threshold)})` : '')
  )
  return `**Regressed:** ${names.join('; ')}`
}

/**
 * For a run that did not complete: its status, why (unless the verdict line already said so),
 * how much was measured, and the most common errors.
 */
function failureBlock(results: ResultsFile, verdictReason: string): string | null {
  if (results.status === 'completed') return null
  const lines = [`**The run ${results.status}.** Measured requests: ${requestCounts(results)}.`]
  if (results.reason && results.reason !== verdictReason) {
    lines.push('', `Reason: ${escapeMarkdown(results.reason, 500)}`)
  }
  const errors = topErrors(results)
  if (errors.length > 0) {
    lines.push('', 'Most common errors:', '')
    lines.push(
      bulletList(
        errors.map(
          error =>
            `${formatCount(error.count)} × ${escapeMarkdown(error.errorClass, 40)}: ${escapeMarkdown(error.message)}`
        )
      )
    )
  }
  return lines.join('\n')
}

function differencesBlock(comparison: Comparison | null): string | null {
  if (!comparison || comparison.differences.length === 0) return null
  const shown = comparison.differences
    .slice(0, MAX_WARNINGS)
    .map(difference => escapeMarkdown(difference))
  if (comparison.differences.length > MAX_WARNINGS) {
    shown.push(`… and ${comparison.differences.length - MAX_WARNINGS} more`)
  }
  return `**Settings that differ from the baseline**, so the runs cannot be compared:\n\n${bulletList(shown)}`
}

function baselineLine(input: ReportInput): string | null {
  const parts: string[] = []
  const description = baselineDescription(input.comparison)
  if (description) parts.push(`Baseline: ${escapeMarkdown(description)}`)
  if (input.baselineNote) parts.push(escapeMarkdown(input.baselineNote, 500))
  return parts.length > 0 ? parts.join(' · ') : null
}

// ---------------------------------------------------------------------------------------------
// Comparison tables

function comparisonRow(metric: MetricComparison): string[] {
  const definition = metricDefinition(metric.metric)
  const arrow = definition ? ` ${directionArrow(definition.direction)}` : ''
  const style = metricVerdictStyle(metric)
  return [
    `${metricLabel(metric.metric, metric.stat)}${arrow}`,
    formatValue(metric.metric, metric.baseline),
    formatValue(metric.metric, metric.current),
    formatChange(metric.metric, metric.relativeChange),
    formatInterval(metric.relativeChangeCi),
    formatPValue(metric.pValue),
    formatNoise(metric.historyNoise),
    formatLimit(metric.threshold),
    `${style.emoji} **${style.title}**: ${escapeMarkdown(metric.explanation)}`
  ]
}

function comparisonTable(comparison: Comparison, metrics: MetricComparison[]): string {
  return markdownTable(
    [
      'Metric',
      'Baseline',
      'Current',
      'Change',
      confidenceLabel(comparison),
      'p-value',
      'Noise',
      'Limit',
      'Verdict'
    ],
    metrics.map(comparisonRow),
    ['left', 'right', 'right', 'right', 'center', 'right', 'right', 'right', 'left']
  )
}

/** Without a baseline, or with one of other settings, nothing was compared: no tables of dashes. */
function wasCompared(comparison: Comparison | null): comparison is Comparison {
  return comparison !== null && !['no-baseline', 'not-comparable'].includes(comparison.verdict)
}

function gatedBlock(comparison: Comparison | null): string | null {
  const gated = gatedMetrics(comparison)
  if (!wasCompared(comparison) || gated.length === 0) return null
  return `${comparisonTable(comparison, gated)}\n\n${LEGEND}`
}

const LEGEND =
  '<sub>↓ lower is better, ↑ higher is better. Change is current against baseline; a regression ' +
  'must exceed the limit, be significant and stand out of the run-to-run noise.</sub>'

function reportedOnlyBlock(comparison: Comparison | null): string | null {
  const others = reportedOnlyMetrics(comparison)
  if (!wasCompared(comparison) || others.length === 0) return null
  return `#### Also compared (not gated)\n\n${comparisonTable(comparison, others)}`
}

// ---------------------------------------------------------------------------------------------
// Metrics of this run

const SUMMARY_STATS = ['avg', 'med', 'p90', 'p95', 'p99'] as const

function distributionsTable(summary: RunSummary): string {
  const rows = METRICS.filter(metric => metric.kind === 'distribution').map(metric => {
    const distribution = summary.distributions[metric.id as DistributionMetricId]
    return [
      `${metric.title} ${directionArrow(metric.direction)}`,
      ...SUMMARY_STATS.map(stat => formatValue(metric.id, distribution[stat])),
      formatCount(distribution.n)
    ]
  })
  return markdownTable(['Metric', ...SUMMARY_STATS.map(stat => formatStat(stat)), 'n'], rows, [
    'left',
    ...SUMMARY_STATS.map((): Align => 'right'),
    'right'
  ])
}

function scalarsTable(summary: RunSummary): string {
  return markdownTable(['Metric', 'Value'], scalarRows(summary), ['left', 'right'])
}

function metricsBlock(results: ResultsFile): string {
  const { summary } = results
  const estimated = summary.totals.completion_tokens_estimated ? ' (some estimated)' : ''
  return [
    '#### All metrics of this run',
    distributionsTable(summary),
    scalarsTable(summary),
    bulletList([
      `Requests: ${requestCounts(results)}`,
      `Tokens: ${formatCount(summary.totals.prompt_tokens)} prompt, ${formatCount(summary.totals.completion_tokens)} completion${estimated}`,
      `Run length: ${runLength(results)}`,
      `Client event-loop lag: p99 ${formatMs(summary.client.event_loop_lag.p99)}${summary.client.bottleneck ? ' (a bottleneck)' : ''}`
    ])
  ].join('\n\n')
}

// ---------------------------------------------------------------------------------------------
// Trend

/** The metrics worth a chart: the gated ones with their statistic, else TTFT and decode rate. */
function chartedMetrics(comparison: Comparison | null): { metric: MetricId; stat?: string }[] {
  const seen = new Set<MetricId>()
  const charted: { metric: MetricId; stat?: string }[] = []
  for (const metric of gatedMetrics(comparison)) {
    if (seen.has(metric.metric)) continue
    seen.add(metric.metric)
    charted.push({ metric: metric.metric, stat: formatStat(metric.stat) || undefined })
  }
  return charted.length > 0
    ? charted.slice(0, MAX_CHARTS)
    : [{ metric: 'ttft' }, { metric: 'decode_rate' }]
}

function trendBlock(input: ReportInput): string | null {
  const charts = chartedMetrics(input.comparison)
    .map(({ metric, stat }) => renderTrendChart(input.history, metric, stat))
    .filter((chart): chart is string => chart !== null)
  if (charts.length === 0) return null
  return [`#### Trend over the last runs`, ...charts].join('\n\n')
}

// ---------------------------------------------------------------------------------------------
// Facts

function warningsBlock(input: ReportInput): string | null {
  const warnings = collectWarnings(input.results, input.comparison)
  if (warnings.length === 0) return null
  const shown = warnings.slice(0, MAX_WARNINGS).map(warning => `⚠️ ${escapeMarkdown(warning, 500)}`)
  if (warnings.length > MAX_WARNINGS)
    shown.push(`… and ${formatCount(warnings.length - MAX_WARNINGS)} more warnings`)
  return `#### Warnings\n\n${bulletList(shown)}`
}

function factsTable(rows: [string, string][]): string {
  return markdownTable(['', ''], rows)
}

function datasetBlock(dataset: DatasetFacts | null): string {
  if (!dataset) return '#### Dataset\n\nNo dataset facts were recorded.'
  const stages = dataset.stages
    .map(stage => `${escapeMarkdown(stage.name, 40)} ${formatCount(stage.kept)}`)
    .join(' → ')
  return `#### Dataset\n\n${factsTable([
    ['Source', escapeMarkdown(redactUrl(dataset.source))],
    ['SHA-256', dataset.sha256 ? inlineCode(dataset.sha256, 80) : MISSING],
    ['Size', formatBytes(dataset.bytes)],
    ['Filter stages', stages || MISSING],
    ['Prompts', formatCount(dataset.prompts)],
    ['Prepared-prompt cache', dataset.fromPreparedCache ? 'used' : 'not used (parsed)']
  ])}`
}

function serverBlock(server: ServerFacts): string {
  const models = server.models.slice(0, 10).map(model => escapeMarkdown(model, 100))
  if (server.models.length > 10) models.push(`… ${server.models.length - 10} more`)
  return `#### Server\n\n${factsTable([
    ['URL', escapeMarkdown(redactUrl(server.url))],
    ['Model', server.model ? escapeMarkdown(server.model, 200) : MISSING],
    ['Models listed', models.length > 0 ? models.join(', ') : MISSING],
    ['Fingerprint', server.systemFingerprint ? inlineCode(server.systemFingerprint, 100) : MISSING],
    ['Software', server.software ? escapeMarkdown(server.software, 100) : MISSING]
  ])}`
}

function runnerBlock(runner: RunnerFacts): string {
  return `#### Runner\n\n${factsTable([
    ['OS', escapeMarkdown(`${runner.os} ${runner.arch}`, 100)],
    ['CPU', `${escapeMarkdown(runner.cpu, 100)} (${formatCount(runner.cores)} cores)`],
    ['Memory', formatBytes(runner.memoryBytes)],
    ['Node', escapeMarkdown(runner.node, 40)],
    ['GPU', runner.gpu ? escapeMarkdown(runner.gpu, 200) : 'none detected']
  ])}`
}

/** `[['request.maxTokens', '512'], …]`: every setting, nested objects flattened. */
export function flattenSettings(value: unknown, prefix = ''): [string, unknown][] {
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
  ) {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
      flattenSettings(inner, prefix ? `${prefix}.${key}` : key)
    )
  }
  return [[prefix, value]]
}

function settingValue(key: string, value: unknown): string {
  if (value === undefined) return MISSING
  if (typeof value === 'number' && /Ms$/.test(key))
    return `${formatCount(value)} (${formatDuration(value)})`
  if (typeof value === 'string') return value === '' ? '""' : escapeMarkdown(redactUrl(value), 200)
  return escapeMarkdown(JSON.stringify(value), 200)
}

function settingsBlock(results: ResultsFile): string {
  const rows = flattenSettings(results.settings).map(([key, value]): [string, string] => [
    inlineCode(key, 80),
    settingValue(key, value)
  ])
  const fingerprint = `Settings fingerprint: ${inlineCode(results.fingerprint.hash, 80) || MISSING}`
  return `#### Settings\n\n<details><summary>${rows.length} settings (secrets redacted)</summary>\n\n${factsTable(rows)}\n\n</details>\n\n${fingerprint}`
}

function footer(input: ReportInput): string {
  const parts = [
    `${escapeMarkdown(input.results.tool.name, 40)} ${escapeMarkdown(input.results.tool.version, 40)}`
  ]
  if (input.runUrl) parts.unshift(link('Workflow run', input.runUrl))
  return `<sub>${parts.join(' · ')}</sub>`
}

// ---------------------------------------------------------------------------------------------
// Fitting under a size limit

function truncationNote(dropped: number, where: string): string {
  return (
    `> [!NOTE]\n> Truncated: ${dropped} section${dropped === 1 ? ' was' : 's were'} left out to stay under ` +
    `GitHub's size limit; ${where}`
  )
}

/**
 * The longest prefix of `text`, cut at a line end, that fits; the last resort when even the
 * required parts are too long (which escaping and list caps should make impossible).
 */
function cutToFit(text: string, fits: (candidate: string) => boolean, note: string): string {
  let low = 0
  let high = text.length
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if (fits(`${text.slice(0, middle)}\n\n${note}`)) low = middle
    else high = middle - 1
  }
  const cut = text.lastIndexOf('\n', low)
  return `${text.slice(0, cut > 0 ? cut : low)}\n\n${note}`
}

/**
 * Builds the report with all optional sections, then drops them from the end (least
 * important first) until it fits, saying so when anything was dropped.
 */
function fitReport(
  compose: (optional: string[], note: string | null) => string,
  optional: string[],
  fits: (text: string) => boolean,
  where: string
): string {
  for (let kept = optional.length; kept >= 0; kept -= 1) {
    const dropped = optional.length - kept
    const text = compose(
      optional.slice(0, kept),
      dropped > 0 ? truncationNote(dropped, where) : null
    )
    if (fits(text)) return text
  }
  return cutToFit(compose([], null), fits, truncationNote(optional.length, where))
}

function joinBlocks(blocks: (string | null | undefined)[]): string {
  return blocks.filter((block): block is string => Boolean(block)).join('\n\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// The two reports

/**
 * The job summary: the verdict and its reason first, then the gated metrics, the trend,
 * warnings, every metric of the run, and the dataset, server, runner and settings facts.
 */
/** What both the job summary and the comment always show: the verdict, why, and the gate. */
function verdictBlocks(input: ReportInput, heading: '##' | '###'): (string | null)[] {
  const { results, comparison } = input
  return [
    verdictHeading(input, heading),
    verdictReason(input),
    regressionLine(comparison),
    failureBlock(results, runVerdict(results, comparison).reason),
    differencesBlock(comparison),
    baselineLine(input),
    gatedBlock(comparison)
  ]
}

export function renderJobSummary(input: ReportInput): string {
  const { results, comparison } = input
  const required = verdictBlocks(input, '##')
  const optional = [
    warningsBlock(input),
    trendBlock(input),
    reportedOnlyBlock(comparison),
    metricsBlock(results),
    datasetBlock(results.dataset),
    serverBlock(results.server),
    runnerBlock(results.runner),
    settingsBlock(results)
  ].filter((block): block is string => block !== null)
  return fitReport(
    (kept, note) => joinBlocks([...required, ...kept, note, footer(input)]),
    optional,
    text => Buffer.byteLength(text, 'utf8') <= JOB_SUMMARY_LIMIT_BYTES,
    'the results file (artifact) has everything.'
  )
}

/**
 * The pull-request comment: the hidden marker, the verdict, regressions named first, the
 * gated table, then everything else collapsed in `<details>`, and the link to the run.
 * At most `PR_COMMENT_LIMIT` characters: details are dropped from the end until it fits.
 */
export function renderPrComment(input: ReportInput): string {
  const { results, comparison } = input
  const required = [commentMarker(input.name), ...verdictBlocks(input, '###')]
  const optional = [
    warningsBlock(input),
    reportedOnlyBlock(comparison),
    metricsBlock(results),
    trendBlock(input),
    datasetBlock(results.dataset),
    serverBlock(results.server),
    runnerBlock(results.runner),
    settingsBlock(results)
  ].filter((block): block is string => block !== null)
  const summary = 'Other metrics, trend, warnings, dataset, server, runner and settings'
  const details = (kept: string[]): string | null =>
    kept.length > 0
      ? `<details><summary>${summary}</summary>\n\n${kept.join('\n\n')}\n\n</details>`
      : null
  return fitReport(
    (kept, note) => joinBlocks([...required, details(kept), note, footer(input)]),
    optional,
    text => text.length <= PR_COMMENT_LIMIT,
    input.runUrl
      ? `${link('the job summary', input.runUrl)} has everything.`
      : 'the job summary has everything.'
  )
}
