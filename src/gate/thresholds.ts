import { UserError } from '../errors.js'
import { METRICS, metricDefinition, type MetricDefinition } from '../metrics/catalog.js'
import type { DistributionStat } from '../metrics/types.js'
import type { Threshold } from './types.js'

/**
 * The gated set when the `thresholds` input is empty.
 *
 * Why these limits: the gate is meant to raise at most 1% false alarms on identical code while
 * catching ≥ 95% of 10% slowdowns. Two runs of the same code on shared CI runners differ by a few
 * percent (runner speed varies by ~3% from run to run), so a limit must sit above that spread and
 * well below 10%: 6% leaves ~2 standard deviations of the difference of two such runs on each
 * side (a 10% slowdown in time is a 9.1% drop in a rate, still beyond 6%). The significance test
 * and, once the baseline holds 5+ runs, the history's noise band remove most of the remaining
 * false alarms, so the limit only has to say what size of change matters.
 *
 * Why these metrics: medians of per-request figures move with a slowdown but barely with a few
 * slow outliers. The prompt processing rate and the decode rate divide by the token counts, so
 * they isolate prefill and decode speed from the mix of prompt lengths and are the most sensitive
 * to either slowdown; TTFT's median is what users feel. The end-to-end p95 watches the tail with
 * a looser 10% limit, since a p95 of a few hundred requests is itself noisy. Output tokens per
 * second is the capacity figure; it has no per-request samples and is judged once a history
 * exists. The error rate is absolute: one more failed request in a hundred fails the gate.
 */
export const DEFAULT_THRESHOLDS = `# metric.statistic: limit (10% = relative, 0.01 = absolute in the metric's unit)
ttft.med: 6%
prompt_processing_rate.med: 6%
decode_rate.med: 6%
e2e_latency.p95: 10%
output_tokens_per_second: 6%
error_rate: 0.01`

const STATISTICS: Record<string, DistributionStat> = {
  avg: 'avg',
  mean: 'avg',
  min: 'min',
  med: 'med',
  median: 'med',
  max: 'max',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99'
}

const LINE_SHAPE =
  "'metric.statistic: limit' (e.g. 'ttft.p95: 10%') or 'metric: limit' (e.g. 'error_rate: 0.01')"

function lineError(lineNumber: number, rule: string, line: string): UserError {
  return new UserError(`'thresholds' line ${lineNumber} must be ${rule} but got '${line}'`)
}

function parseStat(
  definition: MetricDefinition,
  statText: string | undefined,
  lineNumber: number,
  line: string
): DistributionStat | 'value' {
  if (definition.kind !== 'distribution') {
    if (statText === undefined) return 'value'
    throw lineError(
      lineNumber,
      `'${definition.id}: limit' without a statistic (${definition.id} is a ${definition.kind})`,
      line
    )
  }
  const stat = statText === undefined ? undefined : STATISTICS[statText]
  if (stat === undefined) {
    const names = Object.keys(STATISTICS).join(', ')
    throw lineError(
      lineNumber,
      `'${definition.id}.statistic: limit' with a statistic of ${names}`,
      line
    )
  }
  return stat
}

function parseLimit(
  definition: MetricDefinition,
  limitText: string,
  lineNumber: number,
  line: string
): Pick<Threshold, 'kind' | 'limit'> {
  const relative = limitText.endsWith('%')
  const numberText = relative ? limitText.slice(0, -1).trim() : limitText
  const value = numberText === '' ? NaN : Number(numberText)
  if (!Number.isFinite(value) || value < 0) {
    throw lineError(
      lineNumber,
      `a limit of 0 or more, relative like '10%' or absolute like '0.01' (in ${definition.unit})`,
      line
    )
  }
  return relative ? { kind: 'relative', limit: value / 100 } : { kind: 'absolute', limit: value }
}

function parseLine(line: string, lineNumber: number): Threshold {
  const colon = line.indexOf(':')
  if (colon < 0) throw lineError(lineNumber, LINE_SHAPE, line)
  const name = line.slice(0, colon).trim()
  const limitText = line.slice(colon + 1).trim()
  const dot = name.indexOf('.')
  const metricText = dot < 0 ? name : name.slice(0, dot)
  const statText = dot < 0 ? undefined : name.slice(dot + 1)
  const definition = metricDefinition(metricText)
  if (!definition) {
    const ids = METRICS.map(metric => metric.id).join(', ')
    throw lineError(lineNumber, `${LINE_SHAPE} with a metric of ${ids}`, line)
  }
  const stat = parseStat(definition, statText, lineNumber, line)
  return { metric: definition.id, stat, ...parseLimit(definition, limitText, lineNumber, line) }
}

/**
 * One `metric.statistic: limit` per line (`metric: limit` for rates and throughputs); `#`
 * comments and blank lines are skipped. `mean` and `median` are accepted for `avg` and `med`.
 */
export function parseThresholds(text: string): Threshold[] {
  const thresholds: Threshold[] = []
  const seenOnLine = new Map<string, number>()
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') return
    const threshold = parseLine(line, index + 1)
    const key = `${threshold.metric}.${threshold.stat}`
    const earlier = seenOnLine.get(key)
    if (earlier !== undefined) {
      throw lineError(
        index + 1,
        `a metric not already limited (line ${earlier} limits ${key})`,
        line
      )
    }
    seenOnLine.set(key, index + 1)
    thresholds.push(threshold)
  })
  return thresholds
}

/** `ttft.p95` or `error_rate`: how a threshold's figure is named in reports. */
export function thresholdName(threshold: Pick<Threshold, 'metric' | 'stat'>): string {
  return threshold.stat === 'value' ? threshold.metric : `${threshold.metric}.${threshold.stat}`
}
