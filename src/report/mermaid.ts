/**
 * Trend charts as Mermaid `xychart-beta` blocks, which GitHub renders in job summaries and
 * comments without an image host.
 */
import { metricDefinition } from '../metrics/catalog.js'
import type { MetricId } from '../metrics/types.js'
import type { TrendPoint } from './markdown.js'
import { formatSignificant, unitLabel } from './format.js'

/** More points make the x-axis labels unreadable; the newest ones matter. */
export const MAX_TREND_POINTS = 30

/**
 * A label inside a Mermaid string: no quotes (they end the string), no backticks (they could
 * end the code fence), no brackets, no line breaks; short.
 */
export function mermaidLabel(text: string, maxLength = 24): string {
  const cleaned = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f"`[\]{};#<>\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return cleaned.length > maxLength ? `${cleaned.slice(0, maxLength - 1)}…` : cleaned || '?'
}

/** A plain decimal number Mermaid can parse: three significant digits, no grouping, no exponent. */
function mermaidNumber(value: number): string {
  return formatSignificant(value).replace(/,/g, '').replace('\u2212', '-')
}

/** A y-axis top a little above the highest point, rounded to 1, 2 or 5 × 10^n. */
export function niceAxisMax(max: number): number {
  if (!(max > 0)) return 1
  const target = max * 1.1
  const magnitude = 10 ** Math.floor(Math.log10(target))
  const step = [1, 2, 5, 10].find(factor => factor * magnitude >= target) ?? 10
  return step * magnitude
}

/**
 * A line chart of one metric over the history (oldest first), e.g. the p95 TTFT of the last
 * runs; points without a value for the metric are left out. `statLabel` names the statistic
 * the history holds (e.g. `p95`) for the title. Null when fewer than two points remain:
 * one point is not a trend.
 *
 * The y-axis starts at zero so a 2% wobble does not look like a cliff.
 */
export function renderTrendChart(
  history: TrendPoint[],
  metric: MetricId,
  statLabel?: string
): string | null {
  const points = history
    .filter(point => Number.isFinite(point.values[metric]))
    .slice(-MAX_TREND_POINTS)
  if (points.length < 2) return null
  const definition = metricDefinition(metric)
  const unit = definition ? unitLabel(definition.unit) : ''
  const scale = definition?.unit === 'ratio' ? 100 : 1
  const values = points.map(point => (point.values[metric] as number) * scale)
  const title = [definition?.title ?? metric, statLabel].filter(Boolean).join(' ')
  const lines = [
    '```mermaid',
    'xychart-beta',
    `  title "${mermaidLabel(`${title} (${unit})`, 80)}"`,
    `  x-axis [${points.map(point => `"${mermaidLabel(point.label)}"`).join(', ')}]`,
    `  y-axis "${mermaidLabel(unit)}" 0 --> ${mermaidNumber(niceAxisMax(Math.max(...values)))}`,
    `  line [${values.map(mermaidNumber).join(', ')}]`,
    '```'
  ]
  return lines.join('\n')
}
