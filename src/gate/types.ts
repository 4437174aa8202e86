import type { DistributionStat, MetricId } from '../metrics/types.js'

/** The run's verdict, the action's `verdict` output. */
export type Verdict = 'pass' | 'regression' | 'no-baseline' | 'not-comparable' | 'failed'

/** One metric's verdict. Only `regression` on a gated metric fails the job. */
export type MetricVerdict =
  | 'pass'
  | 'improvement'
  | 'regression'
  /** Worse than the limit but not statistically significant, or within the run-to-run noise. */
  | 'within-noise'
  /** Too few samples to decide. */
  | 'inconclusive'

export interface Threshold {
  metric: MetricId
  /** The statistic compared; `value` for rates and throughputs. */
  stat: DistributionStat | 'value'
  /** `relative`: a fraction (0.1 for `10%`); `absolute`: in the metric's unit. */
  kind: 'relative' | 'absolute'
  limit: number
}

export interface MetricComparison {
  metric: MetricId
  stat: DistributionStat | 'value'
  /** Gated metrics fail the job on a regression; the others are reported only. */
  gated: boolean
  threshold: Threshold | null
  baseline: number | null
  current: number | null
  /** current / baseline - 1; null when the baseline is 0 or missing. */
  relativeChange: number | null
  /** Confidence interval of the relative change at the gate's confidence. */
  relativeChangeCi: [number, number] | null
  /** p-value of the significance test (Mann-Whitney U or two-proportion z), when one ran. */
  pValue: number | null
  /** Run-to-run spread of this figure in the baseline history (relative), when known. */
  historyNoise: number | null
  verdict: MetricVerdict
  /** One line explaining the verdict in plain words. */
  explanation: string
}

export interface Comparison {
  verdict: Verdict
  /** One line: why this verdict. */
  reason: string
  /** e.g. 0.99 */
  confidence: number
  baseline: {
    runs: number
    commit: string | null
    ref: string | null
    date: string | null
  } | null
  metrics: MetricComparison[]
  /** Settings that differ when the verdict is `not-comparable`. */
  differences: string[]
  /** E.g. the runner hardware differs. */
  warnings: string[]
}
