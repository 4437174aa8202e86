import { describe, expect, it } from '@jest/globals'
import { DEFAULT_THRESHOLDS, parseThresholds, thresholdName } from '../../src/gate/thresholds.js'

describe('parseThresholds', () => {
  it.each([
    ['ttft.p95: 10%', { metric: 'ttft', stat: 'p95', kind: 'relative', limit: 0.1 }],
    ['ttft.mean: 5 %', { metric: 'ttft', stat: 'avg', kind: 'relative', limit: 0.05 }],
    [
      'decode_rate.median:2.5%',
      { metric: 'decode_rate', stat: 'med', kind: 'relative', limit: 0.025 }
    ],
    ['  itl.p99 : 3  ', { metric: 'itl', stat: 'p99', kind: 'absolute', limit: 3 }],
    ['error_rate: 0.01', { metric: 'error_rate', stat: 'value', kind: 'absolute', limit: 0.01 }],
    [
      'output_tokens_per_second: 5%',
      { metric: 'output_tokens_per_second', stat: 'value', kind: 'relative', limit: 0.05 }
    ],
    ['e2e_latency.max: 0', { metric: 'e2e_latency', stat: 'max', kind: 'absolute', limit: 0 }],
    [
      'tpot.p90: 7% # tail of decode',
      { metric: 'tpot', stat: 'p90', kind: 'relative', limit: 0.07 }
    ]
  ])('reads %j', (line, expected) => {
    expect(parseThresholds(line)).toEqual([expected])
  })

  it('skips comments and blank lines', () => {
    expect(parseThresholds('# header\n\n  \nttft.med: 5%\r\n# end\n')).toHaveLength(1)
  })

  const ids =
    'ttft, prompt_processing_rate, decode_rate, tpot, itl, e2e_latency, prompt_tokens, completion_tokens, truncated_rate, stop_rate, error_rate, requests_per_second, output_tokens_per_second, total_tokens_per_second'
  const shape =
    "'metric.statistic: limit' (e.g. 'ttft.p95: 10%') or 'metric: limit' (e.g. 'error_rate: 0.01')"

  it.each([
    ['ttft.p95 10%', `'thresholds' line 2 must be ${shape} but got 'ttft.p95 10%'`],
    [
      'ttfb.p95: 10%',
      `'thresholds' line 2 must be ${shape} with a metric of ${ids} but got 'ttfb.p95: 10%'`
    ],
    [
      'ttft.p97: 10%',
      "'thresholds' line 2 must be 'ttft.statistic: limit' with a statistic of avg, mean, min, med, median, max, p90, p95, p99 but got 'ttft.p97: 10%'"
    ],
    [
      'ttft: 10%',
      "'thresholds' line 2 must be 'ttft.statistic: limit' with a statistic of avg, mean, min, med, median, max, p90, p95, p99 but got 'ttft: 10%'"
    ],
    [
      'error_rate.p95: 0.01',
      "'thresholds' line 2 must be 'error_rate: limit' without a statistic (error_rate is a rate) but got 'error_rate.p95: 0.01'"
    ],
    [
      'ttft.p95: -5%',
      "'thresholds' line 2 must be a limit of 0 or more, relative like '10%' or absolute like '0.01' (in ms) but got 'ttft.p95: -5%'"
    ],
    [
      'decode_rate.med: fast',
      "'thresholds' line 2 must be a limit of 0 or more, relative like '10%' or absolute like '0.01' (in tokens/s) but got 'decode_rate.med: fast'"
    ],
    ['ttft.p95: %', "(in ms) but got 'ttft.p95: %'"],
    ['ttft.p95:', "(in ms) but got 'ttft.p95:'"],
    ['ttft.p95: NaN', "(in ms) but got 'ttft.p95: NaN'"],
    [
      'ttft.median: 3%',
      "'thresholds' line 2 must be a metric not already limited (line 1 limits ttft.med) but got 'ttft.median: 3%'"
    ]
  ])('rejects %j with the line and what was expected', (line, message) => {
    expect(() => parseThresholds(`ttft.med: 5%\n${line}`)).toThrow(message)
  })

  it('parses the default set', () => {
    expect(parseThresholds(DEFAULT_THRESHOLDS).map(thresholdName)).toEqual([
      'ttft.med',
      'prompt_processing_rate.med',
      'decode_rate.med',
      'e2e_latency.p95',
      'output_tokens_per_second',
      'error_rate'
    ])
  })
})
