/**
 * Small pure number formatters shared by every report (terminal, job summary, PR comment,
 * annotations), so that one figure reads the same wherever the user meets it.
 *
 * Figures use three significant digits (`812 ms`, `1.24 s`, `35.2 tok/s`): enough to see a 1%
 * change, few enough to read at a glance. Counts are exact and grouped (`12,345`).
 */
import { metricDefinition, type Direction, type MetricDefinition } from '../metrics/catalog.js'
import type { Threshold } from '../gate/types.js'
import type { DistributionStat, MetricId } from '../metrics/types.js'

/** What a missing figure (no samples, no baseline) shows as. */
export const MISSING = '—'

/** The true minus sign: a hyphen is easy to miss in front of a number. */
const MINUS = '\u2212'

const SIGNIFICANT_DIGITS = 3

function isFiniteNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** Replaces the ASCII hyphen of a negative number by a true minus sign. */
function withMinus(text: string): string {
  return text.startsWith('-') ? MINUS + text.slice(1) : text
}

/** An integer with thousands separators, e.g. `12,345`. */
export function formatCount(value: number | null | undefined): string {
  if (!isFiniteNumber(value)) return MISSING
  return withMinus(Math.round(value).toLocaleString('en-US'))
}

/**
 * A number with three significant digits and no exponent: `812`, `81.2`, `0.812`; from 1,000
 * up it is rounded to an integer and grouped (`12,345`), since extra digits there are noise.
 */
export function formatSignificant(
  value: number | null | undefined,
  digits = SIGNIFICANT_DIGITS
): string {
  if (!isFiniteNumber(value)) return MISSING
  if (value === 0) return '0'
  if (Math.abs(value) >= 10 ** digits) return formatCount(value)
  // toPrecision only switches to an exponent below 1e-6 here; such figures read as zero.
  if (Math.abs(value) < 1e-6) return '0'
  return withMinus(value.toPrecision(digits))
}

/** Milliseconds: `0.42 ms`, `812 ms`, then seconds from one second on: `1.24 s`, `124 s`. */
export function formatMs(ms: number | null | undefined): string {
  if (!isFiniteNumber(ms)) return MISSING
  // 999.6 ms would round to "1000 ms": switch to seconds where the rounding would cross.
  if (Math.abs(ms) < 999.5) return `${formatSignificant(ms)} ms`
  return `${formatSignificant(ms / 1000)} s`
}

/** A token rate: `35.2 tok/s`. */
export function formatRate(tokensPerSecond: number | null | undefined): string {
  if (!isFiniteNumber(tokensPerSecond)) return MISSING
  return `${formatSignificant(tokensPerSecond)} tok/s`
}

/** A request rate: `2.41 req/s`. */
export function formatRequestRate(requestsPerSecond: number | null | undefined): string {
  if (!isFiniteNumber(requestsPerSecond)) return MISSING
  return `${formatSignificant(requestsPerSecond)} req/s`
}

/** A share (0..1) as an unsigned percentage with one decimal: `12.5%`. */
export function formatRatio(fraction: number | null | undefined): string {
  if (!isFiniteNumber(fraction)) return MISSING
  return `${withMinus((fraction * 100).toFixed(1))}%`
}

/**
 * A relative change (a fraction: 0.123 for +12.3%) as a signed percentage with one decimal:
 * `+12.3%`, `−4.0%`, `0.0%`. The sign is always shown so a change never reads as a level.
 */
export function formatPercent(fraction: number | null | undefined): string {
  if (!isFiniteNumber(fraction)) return MISSING
  const text = (fraction * 100).toFixed(1)
  // -0.04% rounds to "-0.0": no sign on a change that rounds to nothing.
  if (Number(text) === 0) return '0.0%'
  return fraction > 0 ? `+${text}%` : `${withMinus(text)}%`
}

/** A confidence interval of a relative change: `+1.2% … +8.9%`. */
export function formatInterval(interval: [number, number] | null | undefined): string {
  if (!interval || !isFiniteNumber(interval[0]) || !isFiniteNumber(interval[1])) return MISSING
  return `${formatPercent(interval[0])} … ${formatPercent(interval[1])}`
}

/** A p-value: `0.023`, `< 0.001`. */
export function formatPValue(p: number | null | undefined): string {
  if (!isFiniteNumber(p)) return MISSING
  if (p < 0.001) return '< 0.001'
  return p.toFixed(3)
}

/** A run-to-run spread (relative, 0.031 for 3.1%) as `±3.1%`. */
export function formatNoise(fraction: number | null | undefined): string {
  if (!isFiniteNumber(fraction)) return MISSING
  return `±${Math.abs(fraction * 100).toFixed(1)}%`
}

/** A byte size in binary units: `512 B`, `1.50 KiB`, `15.6 GiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (!isFiniteNumber(bytes)) return MISSING
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${formatCount(value)} B` : `${formatSignificant(value)} ${units[unit]}`
}

/**
 * A length of time in words for settings and run lengths: `300 ms`, `45 s`, `1 min 30 s`,
 * `10 min`, `2 h 5 min`. Whole seconds from one second on: these are human-scale durations.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (!isFiniteNumber(ms)) return MISSING
  if (Math.abs(ms) < 1000) return `${formatSignificant(ms)} ms`
  const totalSeconds = Math.round(ms / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  const parts: string[] = []
  if (hours > 0) parts.push(`${hours} h`)
  if (minutes > 0) parts.push(`${minutes} min`)
  // Seconds are noise next to hours.
  if (seconds > 0 && hours === 0) parts.push(`${seconds} s`)
  return parts.length > 0 ? parts.join(' ') : '0 s'
}

/** A clock for progress lines: `01:23`, `1:02:03`. */
export function formatClock(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000))
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  const mmss = `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`
  return hours > 0 ? `${hours}:${mmss}` : mmss
}

/** A value in the unit the catalog gives its metric, e.g. `formatValue('ttft', 812)` → `812 ms`. */
export function formatValue(metricId: MetricId, value: number | null | undefined): string {
  const definition = metricDefinition(metricId)
  switch (definition?.unit) {
    case 'ms':
      return formatMs(value)
    case 'tokens/s':
      return formatRate(value)
    case 'requests/s':
      return formatRequestRate(value)
    case 'ratio':
      return formatRatio(value)
    case 'tokens':
      return isFiniteNumber(value) ? `${formatSignificant(value)} tok` : MISSING
    default:
      return formatSignificant(value)
  }
}

/** The unit as a short axis label: `ms`, `tok/s`, `req/s`, `%`, `tok`. */
export function unitLabel(unit: MetricDefinition['unit']): string {
  switch (unit) {
    case 'tokens/s':
      return 'tok/s'
    case 'requests/s':
      return 'req/s'
    case 'ratio':
      return '%'
    case 'tokens':
      return 'tok'
    default:
      return unit
  }
}

/** The arrow that says which way is better: `↓` lower is better, `↑` higher is better. */
export function directionArrow(direction: Direction): string {
  return direction === 'lower-is-better' ? '↓' : '↑'
}

/** The statistic as people say it: `p95`, `median`, `average`; `value` (rates) says nothing. */
export function formatStat(stat: DistributionStat | 'value'): string {
  switch (stat) {
    case 'avg':
      return 'average'
    case 'med':
      return 'median'
    case 'value':
      return ''
    default:
      return stat
  }
}

/** `Time to first token p95`, `Error rate`: the catalog title with the statistic compared. */
export function metricLabel(metricId: MetricId, stat: DistributionStat | 'value'): string {
  const title = metricDefinition(metricId)?.title ?? metricId
  const statText = formatStat(stat)
  return statText ? `${title} ${statText}` : title
}

/**
 * Whether a relative change is good or bad news for this metric, or null when it is no
 * change at all; the reader should not have to remember which way each metric goes.
 */
export function changeDirection(
  metricId: MetricId,
  relativeChange: number | null | undefined
): 'better' | 'worse' | null {
  if (!isFiniteNumber(relativeChange) || formatPercent(relativeChange) === '0.0%') return null
  const lowerIsBetter = metricDefinition(metricId)?.direction !== 'higher-is-better'
  return relativeChange < 0 === lowerIsBetter ? 'better' : 'worse'
}

/** `+12.3% ▲ worse`, `−4.0% ▼ better`, `0.0%`: the change, its sign as an arrow, and its meaning. */
export function formatChange(
  metricId: MetricId,
  relativeChange: number | null | undefined
): string {
  if (!isFiniteNumber(relativeChange)) return MISSING
  const direction = changeDirection(metricId, relativeChange)
  if (direction === null) return formatPercent(relativeChange)
  const arrow = relativeChange > 0 ? '▲' : '▼'
  return `${formatPercent(relativeChange)} ${arrow} ${direction}`
}

/** A gate limit in words: `10% worse`, `50 ms worse`; the threshold is always about getting worse. */
export function formatLimit(threshold: Threshold | null | undefined): string {
  if (!threshold) return MISSING
  const amount =
    threshold.kind === 'relative'
      ? `${(Math.abs(threshold.limit) * 100).toFixed(1).replace(/\.0$/, '')}%`
      : formatValue(threshold.metric, Math.abs(threshold.limit))
  return `${amount} worse`
}
