import { describe, expect, it } from '@jest/globals'
import {
  formatBytes,
  formatChange,
  formatClock,
  formatCount,
  formatDuration,
  formatInterval,
  formatLimit,
  formatMs,
  formatPValue,
  formatPercent,
  formatRate,
  formatRatio,
  formatSignificant,
  formatValue,
  metricLabel
} from '../../src/report/format.js'
import type { MetricId } from '../../src/metrics/types.js'

describe('formatMs', () => {
  it.each([
    [0.4213, '0.421 ms'],
    [8.123, '8.12 ms'],
    [81.23, '81.2 ms'],
    [812.4, '812 ms'],
    [999.4, '999 ms'],
    [999.6, '1.00 s'],
    [1_238, '1.24 s'],
    [12_380, '12.4 s'],
    [123_800, '124 s'],
    [0, '0 ms'],
    [null, '—'],
    [Number.NaN, '—']
  ])('shows %p ms as %p, with three significant digits', (ms, expected) => {
    expect(formatMs(ms)).toBe(expected)
  })
})

describe('formatSignificant and formatCount', () => {
  it.each([
    [35.24, '35.2'],
    [0.000_123_4, '0.000123'],
    [1e-9, '0'],
    [12_345.6, '12,346'],
    [-4.2, '−4.20']
  ])('keeps three significant digits of %p without an exponent: %p', (value, expected) => {
    expect(formatSignificant(value)).toBe(expected)
  })

  it('groups counts by thousands', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567')
  })
})

describe('rates, ratios and percentages', () => {
  it.each([
    [() => formatRate(35.24), '35.2 tok/s'],
    [() => formatRatio(0.125), '12.5%'],
    [() => formatPercent(0.1234), '+12.3%'],
    [() => formatPercent(-0.04), '−4.0%'],
    [() => formatPercent(-0.0004), '0.0%'],
    [() => formatInterval([-0.012, 0.089]), '−1.2% … +8.9%'],
    [() => formatPValue(0.0004), '< 0.001'],
    [() => formatPValue(0.0234), '0.023']
  ])('formats case %#', (format, expected) => {
    expect(format()).toBe(expected)
  })
})

describe('formatBytes, formatDuration and formatClock', () => {
  it.each([
    [() => formatBytes(512), '512 B'],
    [() => formatBytes(1_536), '1.50 KiB'],
    [() => formatBytes(16 * 1024 ** 3), '16.0 GiB'],
    [() => formatDuration(300), '300 ms'],
    [() => formatDuration(45_000), '45 s'],
    [() => formatDuration(90_000), '1 min 30 s'],
    [() => formatDuration(600_000), '10 min'],
    [() => formatDuration(7_530_000), '2 h 5 min'],
    [() => formatClock(83_000), '01:23'],
    [() => formatClock(3_723_000), '1:02:03']
  ])('formats case %#', (format, expected) => {
    expect(format()).toBe(expected)
  })
})

describe('formatValue', () => {
  it.each<[MetricId, number, string]>([
    ['ttft', 812, '812 ms'],
    ['e2e_latency', 4_210, '4.21 s'],
    ['decode_rate', 35.2, '35.2 tok/s'],
    ['output_tokens_per_second', 102.4, '102 tok/s'],
    ['requests_per_second', 0.797, '0.797 req/s'],
    ['error_rate', 0.00417, '0.4%'],
    ['prompt_tokens', 213, '213 tok']
  ])('shows %s in its catalog unit', (metric, value, expected) => {
    expect(formatValue(metric, value)).toBe(expected)
  })
})

describe('formatChange', () => {
  it.each<[MetricId, number, string]>([
    ['ttft', 0.15, '+15.0% ▲ worse'],
    ['ttft', -0.05, '−5.0% ▼ better'],
    ['decode_rate', -0.05, '−5.0% ▼ worse'],
    ['decode_rate', 0.05, '+5.0% ▲ better'],
    ['decode_rate', 0.0001, '0.0%']
  ])('says whether a change of %s by %p is good news', (metric, change, expected) => {
    expect(formatChange(metric, change)).toBe(expected)
  })
})

describe('metricLabel and formatLimit', () => {
  it('names a metric by its catalog title and its statistic', () => {
    expect(metricLabel('ttft', 'p95')).toBe('Time to first token p95')
    expect(metricLabel('decode_rate', 'med')).toBe('Decode rate median')
    expect(metricLabel('error_rate', 'value')).toBe('Error rate')
  })

  it('states relative and absolute limits as how much worse is allowed', () => {
    expect(formatLimit({ metric: 'ttft', stat: 'p95', kind: 'relative', limit: 0.1 })).toBe(
      '10% worse'
    )
    expect(formatLimit({ metric: 'ttft', stat: 'p95', kind: 'absolute', limit: 50 })).toBe(
      '50.0 ms worse'
    )
  })
})
