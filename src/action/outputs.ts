/**
 * The step's outputs: the verdict, the regressions, the files, and the headline figures, so a
 * later step can use them without reading the results file.
 */
import * as core from '@actions/core'

import type { Comparison } from '../gate/types.js'
import type { ResultsFile } from '../results/schema.js'

export interface Regression {
  metric: string
  stat: string
  baseline: number | null
  current: number | null
  relativeChange: number | null
}

export function regressionsOf(comparison: Comparison): Regression[] {
  return comparison.metrics
    .filter(metric => metric.gated && metric.verdict === 'regression')
    .map(({ metric, stat, baseline, current, relativeChange }) => ({
      metric,
      stat,
      baseline,
      current,
      relativeChange
    }))
}

/** Figures as plain numbers; an empty string when the run measured none. */
export function headlineFigures(results: ResultsFile): Record<string, string> {
  const { distributions, rates, throughput, requests } = results.summary
  const figure = (value: number | null | undefined): string =>
    value === null || value === undefined || !Number.isFinite(value) ? '' : String(round(value))
  return {
    'ttft-p95-ms': figure(distributions.ttft.p95),
    'ttft-median-ms': figure(distributions.ttft.med),
    'e2e-latency-p95-ms': figure(distributions.e2e_latency.p95),
    'decode-rate-median': figure(distributions.decode_rate.med),
    'output-tokens-per-second': figure(throughput.output_tokens_per_second),
    'requests-per-second': figure(throughput.requests_per_second),
    'error-rate': figure(rates.error_rate),
    requests: String(requests.sent)
  }
}

const round = (value: number): number => Number(value.toPrecision(6))

export function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}
