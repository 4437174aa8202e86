import { mulberry32 } from '../random.js'
import { errorFunction, quantileSorted } from 'simple-statistics'
import { sortedCopy } from '../metrics/distribution.js'
import type { DistributionStat } from '../metrics/types.js'

/** Standard normal CDF from simple-statistics' error function (absolute error < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2))
}

/** Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|). */
export function twoSidedP(z: number): number {
  return Math.min(1, 1 - errorFunction(Math.abs(z) / Math.SQRT2))
}

/** Inverts a CDF that increases on [low, high] by bisection, to about 1e-12. */
function bisect(cdf: (x: number) => number, p: number, low: number, high: number): number {
  for (let i = 0; i < 200 && high - low > 1e-12; i++) {
    const mid = (low + high) / 2
    if (cdf(mid) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}

/**
 * Normal quantile, by bisection of `normalCdf`: simple-statistics' `probit` is off by ~0.3% in
 * the tails (2.569 for 0.995 instead of 2.576), which would move every confidence bound.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile needs 0 < p < 1, got ${p}`)
  return bisect(normalCdf, p, -40, 40)
}

/**
 * Student's t CDF for a whole number of degrees of freedom, exact: the finite series of
 * Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df) for P(|T| ≤ t).
 */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`t needs whole df ≥ 1, got ${df}`)
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df))
  const cos2 = Math.cos(theta) ** 2
  let central: number
  if (df % 2 === 1) {
    let term = 1
    let series = df > 1 ? 1 : 0
    for (let k = 3; k <= df - 2; k += 2) {
      term *= ((k - 1) / k) * cos2
      series += term
    }
    central = (2 / Math.PI) * (theta + Math.sin(theta) * Math.cos(theta) * series)
  } else {
    let term = 1
    let series = 1
    for (let k = 2; k <= df - 2; k += 2) {
      term *= ((k - 1) / k) * cos2
      series += term
    }
    central = Math.sin(theta) * series
  }
  return t >= 0 ? 0.5 + central / 2 : 0.5 - central / 2
}

/** Student's t quantile for a whole number of degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile needs 0 < p < 1, got ${p}`)
  if (p < 0.5) return -studentTQuantile(1 - p, df)
  let high = 1
  while (studentTCdf(high, df) < p) high *= 2
  return bisect(t => studentTCdf(t, df), p, 0, high)
}

/** Average ranks (1-based) of `values`, ties sharing the mean of their ranks, and Σ(t³ − t). */
function averageRanks(values: readonly number[]): { ranks: number[]; tieSum: number } {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value)
  const ranks = new Array<number>(values.length)
  let tieSum = 0
  for (let start = 0; start < order.length;) {
    let end = start
    while (end + 1 < order.length && order[end + 1].value === order[start].value) end++
    const tied = end - start + 1
    for (let i = start; i <= end; i++) ranks[order[i].index] = (start + end) / 2 + 1
    tieSum += tied ** 3 - tied
    start = end + 1
  }
  return { ranks, tieSum }
}

export interface RankTest {
  /** U of the first sample: the number of pairs (a_i, b_j) with a_i > b_j, ties counting ½. */
  u: number
  z: number
  /** Two-sided. */
  pValue: number
}

/**
 * Mann-Whitney U (Wilcoxon rank-sum) test of `a` against `b`, by the normal approximation with
 * the tie correction of the variance and a continuity correction of ½, as R's `wilcox.test(...,
 * exact = FALSE)` and scipy's `mannwhitneyu(..., method='asymptotic')`. `z > 0` when `a` tends to
 * be larger. The approximation is rough below about 8 values a side; the gate never decides on
 * fewer than its `minSamples` (20), where it is accurate. No variance (all values equal) or an
 * empty sample gives z 0 and p 1.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): RankTest {
  const n1 = a.length
  const n2 = b.length
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1 }
  const { ranks, tieSum } = averageRanks([...a, ...b])
  const rankSumA = ranks.slice(0, n1).reduce((total, rank) => total + rank, 0)
  const u = rankSumA - (n1 * (n1 + 1)) / 2
  const n = n1 + n2
  const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)))
  if (variance <= 0) return { u, z: 0, pValue: 1 }
  const deviation = u - (n1 * n2) / 2
  const corrected = Math.sign(deviation) * Math.max(0, Math.abs(deviation) - 0.5)
  const z = corrected / Math.sqrt(variance)
  return { u, z, pValue: twoSidedP(z) }
}

/**
 * Two-proportion z-test with the pooled proportion (R's `prop.test(..., correct = FALSE)`):
 * `x1` of `n1` against `x2` of `n2`; `z > 0` when the second proportion is larger. No
 * variance (both 0% or both 100%) or an empty sample gives z 0 and p 1.
 */
export function twoProportionTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number
): { z: number; pValue: number } {
  if (n1 <= 0 || n2 <= 0) return { z: 0, pValue: 1 }
  const pooled = (x1 + x2) / (n1 + n2)
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
  if (standardError === 0) return { z: 0, pValue: 1 }
  const z = (x2 / n2 - x1 / n1) / standardError
  return { z, pValue: twoSidedP(z) }
}

const QUANTILE_OF: Record<Exclude<DistributionStat, 'avg' | 'min' | 'max'>, number> = {
  med: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99
}

/** The value at order position `k` (0-based) of a resample given as counts over sorted values. */
function orderStatistic(sorted: readonly number[], counts: Uint32Array, k: number): number {
  let seen = 0
  for (let j = 0; j < counts.length; j++) {
    seen += counts[j]
    if (seen > k) return sorted[j]
  }
  return sorted[sorted.length - 1]
}

/**
 * A statistic of one resample with replacement of `sorted`. The resample is kept as how often
 * each sorted value was drawn, so order statistics need one pass instead of a sort: thousands
 * of resamples of thousands of requests stay fast. Quantiles interpolate like `statOfSorted`.
 */
function resampleStat(
  sorted: readonly number[],
  counts: Uint32Array,
  random: () => number,
  stat: DistributionStat
): number {
  const n = sorted.length
  counts.fill(0)
  for (let i = 0; i < n; i++) counts[Math.floor(random() * n)]++
  if (stat === 'avg') {
    let total = 0
    for (let j = 0; j < n; j++) total += counts[j] * sorted[j]
    return total / n
  }
  if (stat === 'min') return orderStatistic(sorted, counts, 0)
  if (stat === 'max') return orderStatistic(sorted, counts, n - 1)
  const index = (n - 1) * QUANTILE_OF[stat]
  const lower = orderStatistic(sorted, counts, Math.floor(index))
  const upper = orderStatistic(sorted, counts, Math.ceil(index))
  return lower + (index - Math.floor(index)) * (upper - lower)
}

/**
 * Percentile bootstrap interval of `stat(current) / stat(base) − 1` at `confidence`: both samples
 * are resampled independently `resamples` times. Null when a sample is empty or the base
 * statistic is 0 in every resample.
 */
export function bootstrapRelativeChangeCi(
  base: readonly number[],
  current: readonly number[],
  stat: DistributionStat,
  confidence: number,
  seed: number,
  resamples = 1000
): [number, number] | null {
  if (base.length === 0 || current.length === 0) return null
  // The same seed always gives the same interval.
  const random = mulberry32(seed)
  const baseSorted = sortedCopy(base)
  const currentSorted = sortedCopy(current)
  const baseCounts = new Uint32Array(base.length)
  const currentCounts = new Uint32Array(current.length)
  const changes: number[] = []
  for (let i = 0; i < resamples; i++) {
    const baseStat = resampleStat(baseSorted, baseCounts, random, stat)
    const currentStat = resampleStat(currentSorted, currentCounts, random, stat)
    if (baseStat !== 0) changes.push(currentStat / baseStat - 1)
  }
  if (changes.length === 0) return null
  const sorted = sortedCopy(changes)
  const tail = (1 - confidence) / 2
  return [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)]
}
