import { mulberry32 } from '../../src/random.js'
import { describe, expect, it } from '@jest/globals'
import {
  bootstrapRelativeChangeCi,
  mannWhitneyU,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
  twoProportionTest
} from '../../src/gate/stats.js'

// Reference values: scipy 1.17 (`stats.mannwhitneyu(a, b, method='asymptotic')`, which applies
// the tie and continuity corrections; `stats.t`; `stats.norm`; `chi2_contingency(...,
// correction=False)`, the square root of whose statistic is the pooled two-proportion z).

describe('mannWhitneyU', () => {
  it.each([
    // fully separated: U 0, mean 12.5, sd √(25·11/12) = 4.787, z = −12/4.787 = −2.507
    [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0, -2.5067, 0.012185780355344813],
    // ties within and across the samples (four 3s, three 4s): tie correction Σ(t³ − t) = 96
    [[1, 2, 2, 3, 3, 3, 4], [3, 4, 4, 5, 5, 6], 3.5, null, 0.012999854364387305],
    [[19, 22, 16, 29, 24], [20, 11, 17, 12], 17, null, 0.11134688653314041]
  ])('tests %j against %j: U %d', (a, b, u, z, p) => {
    const result = mannWhitneyU(a, b)
    expect(result.u).toBe(u)
    if (z !== null) expect(result.z).toBeCloseTo(z, 3)
    expect(result.pValue).toBeCloseTo(p, 6)
  })

  it('is symmetric: swapping the samples flips z and keeps p', () => {
    const ab = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [3, 4, 4, 5, 5, 6])
    const ba = mannWhitneyU([3, 4, 4, 5, 5, 6], [1, 2, 2, 3, 3, 3, 4])
    expect(ba.u).toBe(7 * 6 - ab.u)
    expect(ba.z).toBeCloseTo(-ab.z, 10)
    expect(ba.pValue).toBeCloseTo(ab.pValue, 10)
  })

  it.each([
    ['identical samples', [1, 2, 3], [1, 2, 3], 1],
    ['all values equal', [5, 5, 5], [5, 5], 1],
    ['an empty sample', [], [1, 2], 1]
  ])('gives p %d for %s', (_name, a, b, p) => {
    expect(mannWhitneyU(a, b).pValue).toBe(p)
  })
})

describe('twoProportionTest', () => {
  it.each([
    // 30% vs 50%: pooled 0.4, se √(0.24 · 0.04) = 0.09798, z = 0.2 / 0.09798 = 2.0412
    [15, 50, 25, 50, 2.041241452319315, 0.041226833337163815],
    [5, 200, 20, 200, 3.0983866769659336, 0.0019457736937391488],
    [9, 10, 1, 10, -3.5777087639996634, 0.000346619351134667]
  ])('tests %d/%d against %d/%d', (x1, n1, x2, n2, z, p) => {
    const result = twoProportionTest(x1, n1, x2, n2)
    expect(result.z).toBeCloseTo(z, 8)
    expect(result.pValue).toBeCloseTo(p, 6)
  })

  it.each([
    [0, 100, 0, 100],
    [100, 100, 50, 50],
    [0, 0, 1, 10]
  ])('gives z 0 and p 1 without variance: %d/%d vs %d/%d', (x1, n1, x2, n2) => {
    expect(twoProportionTest(x1, n1, x2, n2)).toEqual({ z: 0, pValue: 1 })
  })
})

describe('distributions', () => {
  it.each([
    [0.995, 2.5758293035489004],
    [0.5, 0],
    [0.025, -1.959963984540054]
  ])('gives the normal quantile of %d', (p, expected) => {
    expect(normalQuantile(p)).toBeCloseTo(expected, 5)
  })

  it('gives the normal CDF of 1', () => {
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 6)
  })

  it.each([
    [1.5, 3, 0.8847080673775886],
    [-0.7, 6, 0.25507169047537975],
    [0, 1, 0.5]
  ])('gives the t CDF of %d with %d df', (t, df, expected) => {
    expect(studentTCdf(t, df)).toBeCloseTo(expected, 10)
  })

  it.each([
    [0.995, 2, 9.924843200918287],
    [0.975, 4, 2.7764451051977934],
    [0.99, 9, 2.821437925025809],
    [0.99, 1, 31.820515953773935],
    [0.95, 30, 1.697260886593957],
    [0.05, 30, -1.697260886593957]
  ])('gives the t quantile %d with %d df', (p, df, expected) => {
    expect(studentTQuantile(p, df)).toBeCloseTo(expected, 8)
  })
})

describe('mulberry32 (the seeded randomness of the bootstrap)', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = mulberry32(7)
    const b = mulberry32(7)
    const c = mulberry32(8)
    const first = [a(), a(), a()]
    expect([b(), b(), b()]).toEqual(first)
    expect([c(), c(), c()]).not.toEqual(first)
    expect(first.every(x => x >= 0 && x < 1)).toBe(true)
  })
})

describe('bootstrapRelativeChangeCi', () => {
  const base = Array.from({ length: 200 }, (_, i) => 100 + (i % 20))
  const slower = base.map(x => x * 1.3)

  it('brackets a 30% change of a constant factor tightly', () => {
    const [low, high] = bootstrapRelativeChangeCi(base, slower, 'med', 0.99, 1) ?? [NaN, NaN]
    expect(low).toBeGreaterThan(0.2)
    expect(high).toBeLessThan(0.4)
    expect(low).toBeLessThanOrEqual(0.3)
    expect(high).toBeGreaterThanOrEqual(0.3)
  })

  it('contains 0 for the same sample', () => {
    const [low, high] = bootstrapRelativeChangeCi(base, base, 'p95', 0.99, 1) ?? [NaN, NaN]
    expect(low).toBeLessThanOrEqual(0)
    expect(high).toBeGreaterThanOrEqual(0)
  })

  it.each(['avg', 'min', 'med', 'max', 'p90', 'p95', 'p99'] as const)(
    'gives exactly 20%% for %s of constant samples 5 → 6',
    stat => {
      const [low, high] = bootstrapRelativeChangeCi([5, 5, 5], [6, 6, 6, 6], stat, 0.99, 1) ?? []
      expect(low).toBeCloseTo(0.2, 12)
      expect(high).toBeCloseTo(0.2, 12)
    }
  )

  it('gives the same interval for the same seed', () => {
    expect(bootstrapRelativeChangeCi(base, slower, 'avg', 0.9, 3)).toEqual(
      bootstrapRelativeChangeCi(base, slower, 'avg', 0.9, 3)
    )
  })

  it.each([
    [[], [1]],
    [[0, 0], [1]]
  ])('is null without a usable base: %j', (b, c) => {
    expect(bootstrapRelativeChangeCi(b, c, 'med', 0.99, 1)).toBeNull()
  })
})
