import { describe, expect, it } from '@jest/globals'
import { distribution, statOfSorted } from '../../src/metrics/distribution.js'

describe('distribution', () => {
  it('gives n 0 and nulls for no values', () => {
    expect(distribution([])).toEqual({
      n: 0,
      avg: null,
      min: null,
      med: null,
      max: null,
      p90: null,
      p95: null,
      p99: null
    })
  })

  it.each([
    // 1..10 unsorted: index (n-1)p = 9p, interpolated linearly
    [
      [10, 1, 9, 2, 8, 3, 7, 4, 6, 5],
      { n: 10, avg: 5.5, min: 1, med: 5.5, max: 10, p90: 9.1, p95: 9.55, p99: 9.91 }
    ],
    [[42], { n: 1, avg: 42, min: 42, med: 42, max: 42, p90: 42, p95: 42, p99: 42 }],
    // [0, 100]: p90 = 90, p95 = 95, p99 = 99
    [[100, 0], { n: 2, avg: 50, min: 0, med: 50, max: 100, p90: 90, p95: 95, p99: 99 }],
    // odd count: the median is the middle value
    [[3, 1, 2], { n: 3, avg: 2, min: 1, med: 2, max: 3, p90: 2.8, p95: 2.9, p99: 2.98 }]
  ])('computes the k6 statistics of %j', (values, expected) => {
    const result = distribution(values)
    for (const [key, value] of Object.entries(expected)) {
      expect(result[key as keyof typeof result]).toBeCloseTo(value, 10)
    }
  })

  it('does not reorder the caller’s array', () => {
    const values = [3, 1, 2]
    distribution(values)
    expect(values).toEqual([3, 1, 2])
  })
})

describe('statOfSorted', () => {
  it.each([
    ['avg', 5.5],
    ['min', 1],
    ['med', 5.5],
    ['max', 10],
    ['p90', 9.1],
    ['p99', 9.91]
  ] as const)('gives %s of 1..10 as %d', (stat, expected) => {
    expect(statOfSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], stat)).toBeCloseTo(expected, 10)
  })
})
