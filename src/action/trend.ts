/**
 * The trend of the gated figures over the stored history, for the report's chart: each
 * baseline run and this run, as the figure each threshold compares.
 */
import type { BaselineFile } from '../baseline/store.js'
import type { Threshold } from '../gate/types.js'
import type { RunSummary } from '../metrics/types.js'
import type { TrendPoint } from '../report/markdown.js'
import type { ResultsFile } from '../results/schema.js'

export function trendPoints(
  baseline: BaselineFile | null,
  results: ResultsFile,
  thresholds: Threshold[],
  commit: string
): TrendPoint[] {
  const sameSettings = baseline?.fingerprint.hash === results.fingerprint.hash
  const past = sameSettings && baseline ? baseline.runs : []
  const points = past.map(run => point(run.commit, run.date, run.summary, thresholds))
  if (results.status === 'completed') {
    points.push(point(commit || null, results.startedAt, results.summary, thresholds))
  }
  return points
}

function point(
  commit: string | null,
  date: string,
  summary: RunSummary,
  thresholds: Threshold[]
): TrendPoint {
  const values: TrendPoint['values'] = {}
  for (const { metric, stat } of thresholds) {
    const value = figure(summary, metric, stat)
    if (value !== null) values[metric] = value
  }
  return { label: commit ? commit.slice(0, 7) : date.slice(0, 10), date, values }
}

function figure(
  summary: RunSummary,
  metric: Threshold['metric'],
  stat: Threshold['stat']
): number | null {
  if (metric in summary.distributions && stat !== 'value') {
    return summary.distributions[metric as keyof RunSummary['distributions']][stat]
  }
  if (metric in summary.rates) return summary.rates[metric as keyof RunSummary['rates']]
  if (metric in summary.throughput)
    return summary.throughput[metric as keyof RunSummary['throughput']]
  return null
}
