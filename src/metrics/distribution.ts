import { mean, quantileSorted } from 'simple-statistics'
import type { Distribution, DistributionStat } from './types.js'

/**
 * Percentiles use linear interpolation between the closest ranks (R's type 7, numpy's default,
 * simple-statistics' `quantileSorted`): the same method everywhere in the program, so a figure
 * in a summary, a baseline and a bootstrap resample means the same thing.
 */
const QUANTILES = { med: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const

export const EMPTY_DISTRIBUTION: Distribution = {
  n: 0,
  avg: null,
  min: null,
  med: null,
  max: null,
  p90: null,
  p95: null,
  p99: null
}

/** k6's statistics of `values`: avg, min, med, max, p90, p95, p99. Empty → n 0 and nulls. */
export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { ...EMPTY_DISTRIBUTION }
  const sorted = sortedCopy(values)
  return {
    n: sorted.length,
    avg: mean(sorted),
    min: sorted[0],
    med: quantileSorted(sorted, QUANTILES.med),
    max: sorted[sorted.length - 1],
    p90: quantileSorted(sorted, QUANTILES.p90),
    p95: quantileSorted(sorted, QUANTILES.p95),
    p99: quantileSorted(sorted, QUANTILES.p99)
  }
}

/**
 * One statistic of already sorted values (ascending, non-empty), by the same method as above.
 * Takes typed arrays too: the bootstrap sorts thousands of resamples, and typed arrays sort
 * numerically without a comparator, several times faster.
 */
export function statOfSorted(
  sorted: readonly number[] | Float64Array,
  stat: DistributionStat
): number {
  // simple-statistics only indexes and sums, which any array-like supports
  const values = sorted as number[]
  switch (stat) {
    case 'avg':
      return mean(values)
    case 'min':
      return values[0]
    case 'max':
      return values[values.length - 1]
    default:
      return quantileSorted(values, QUANTILES[stat])
  }
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}
