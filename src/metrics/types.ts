/** One distribution, with k6's statistics. Empty distributions have n = 0 and nulls. */
export interface Distribution {
  n: number
  avg: number | null
  min: number | null
  med: number | null
  max: number | null
  p90: number | null
  p95: number | null
  p99: number | null
}

export type DistributionStat = Exclude<keyof Distribution, 'n'>

export interface RunSummary {
  /** The measured window: first measured send to last measured end, ms. */
  windowMs: number
  requests: {
    /** Measured requests sent. */
    sent: number
    /** Completed without error. */
    succeeded: number
    failed: number
    /** Failures by error class. */
    errorsByClass: Record<string, number>
    /** Cut when the run ended. */
    cut: number
  }
  /** Distributions over successful measured requests. Keys are metric ids of the catalog. */
  distributions: {
    ttft: Distribution
    prompt_processing_rate: Distribution
    decode_rate: Distribution
    tpot: Distribution
    itl: Distribution
    e2e_latency: Distribution
    prompt_tokens: Distribution
    completion_tokens: Distribution
  }
  totals: {
    prompt_tokens: number
    completion_tokens: number
    /** True when some completion token counts were estimated (no usage from the server). */
    completion_tokens_estimated: boolean
  }
  rates: {
    truncated_rate: number
    stop_rate: number
    error_rate: number
  }
  throughput: {
    requests_per_second: number
    output_tokens_per_second: number
    total_tokens_per_second: number
  }
  client: {
    /** Event-loop lag of the benchmarking process, ms. */
    event_loop_lag: Distribution
    /** True when the client's own lag was high enough to skew the measurements. */
    bottleneck: boolean
  }
}

export type DistributionMetricId = keyof RunSummary['distributions']
export type RateMetricId = keyof RunSummary['rates']
export type ThroughputMetricId = keyof RunSummary['throughput']
export type MetricId = DistributionMetricId | RateMetricId | ThroughputMetricId
