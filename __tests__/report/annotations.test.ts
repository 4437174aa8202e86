import { describe, expect, it } from '@jest/globals'
import { regressionAnnotations } from '../../src/report/annotations.js'
import { comparison, metricComparison } from './fixtures.js'

describe('regressionAnnotations', () => {
  it('gives one annotation per gated regression, with the figures in plain text', () => {
    expect(regressionAnnotations(comparison())).toEqual([
      {
        title: 'Regression: Time to first token p95',
        message:
          '+15.0% ▲ worse: 1.20 s → 1.38 s, limit 10% worse, 99% CI +8.0% … +22.0%, p-value < 0.001. ' +
          'p95 TTFT is 15.0% slower, beyond the 10% limit and the 3.1% run-to-run noise.'
      }
    ])
  })

  it.each([
    ['a pass', metricComparison({ verdict: 'pass' })],
    ['a result within the noise', metricComparison({ verdict: 'within-noise' })],
    ['a regression of a metric that is not gated', metricComparison({ gated: false })]
  ])('gives none for %s', (_case, metric) => {
    expect(regressionAnnotations(comparison({ metrics: [metric] }))).toEqual([])
  })

  it('puts server text on one line', () => {
    const metric = metricComparison({ explanation: 'line one\nline two\u001b[31m' })
    const [annotation] = regressionAnnotations(comparison({ metrics: [metric] }))
    expect(annotation.message).toMatch(/line one line two \[31m$/)
  })

  it('leaves out the figures the gate did not compute', () => {
    const metric = metricComparison({ relativeChangeCi: null, pValue: null, threshold: null })
    const [annotation] = regressionAnnotations(comparison({ metrics: [metric] }))
    expect(annotation.message.startsWith('+15.0% ▲ worse: 1.20 s → 1.38 s. p95 TTFT')).toBe(true)
  })
})
