import { describe, expect, it } from '@jest/globals'
import type { BaselineFile, BaselineRun } from '../../src/baseline/store.js'
import { compareRuns, type CurrentRun, type GateOptions } from '../../src/gate/compare.js'
import { DEFAULT_THRESHOLDS, parseThresholds } from '../../src/gate/thresholds.js'
import type { MetricComparison } from '../../src/gate/types.js'
import { FINGERPRINT, run, type Shape } from './fixtures.js'

const options: GateOptions = { thresholds: parseThresholds(DEFAULT_THRESHOLDS), confidence: 0.99 }

function baseline(...runs: BaselineRun[]): BaselineFile {
  return {
    schema: 'llm-bench/baseline',
    schemaVersion: 1,
    name: 'main',
    fingerprint: FINGERPRINT,
    runs
  }
}

function current(shape: Shape, overrides: Partial<CurrentRun> = {}): CurrentRun {
  return {
    fingerprint: FINGERPRINT,
    run: run(shape),
    status: 'completed',
    reason: null,
    ...overrides
  }
}

function metric(metrics: MetricComparison[], name: string): MetricComparison {
  const [id, stat = 'value'] = name.split('.')
  const found = metrics.find(m => m.metric === id && m.stat === stat)
  if (!found) throw new Error(`no ${name}`)
  return found
}

describe('compareRuns', () => {
  it('passes identical runs, every gated metric within its limit', () => {
    const comparison = compareRuns(baseline(run()), current({}), options)
    expect(comparison.verdict).toBe('pass')
    expect(comparison.reason).toBe('No gated metric regressed: 6 pass.')
    expect(comparison.metrics.filter(m => m.gated).every(m => m.verdict === 'pass')).toBe(true)
    expect(metric(comparison.metrics, 'ttft.med').relativeChange).toBe(0)
    expect(comparison.warnings).toEqual([])
  })

  it('fails a 30% slower time to first token, naming it', () => {
    const comparison = compareRuns(baseline(run()), current({ ttftScale: 1.3 }), options)
    expect(comparison.verdict).toBe('regression')
    // same jitter, so the median moves by exactly 30%; the rate by 1 / 1.3 − 1 = −23.1%
    expect(comparison.reason).toBe(
      '2 gated metrics regressed: ttft.med +30.0%, prompt_processing_rate.med −23.1%'
    )
    const ttft = metric(comparison.metrics, 'ttft.med')
    expect(ttft.pValue).toBeLessThan(0.0001)
    expect(ttft.relativeChangeCi?.[0]).toBeGreaterThan(0.2)
    expect(ttft.explanation).toMatch(
      /^ttft\.med \+30\.0% is worse than the 6% limit and significant \(Mann-Whitney U p < 0\.0001\)\.$/
    )
    expect(metric(comparison.metrics, 'decode_rate.med').verdict).toBe('pass')
  })

  it('calls a 30% faster time to first token an improvement', () => {
    const comparison = compareRuns(baseline(run()), current({ ttftScale: 0.7 }), options)
    expect(comparison.verdict).toBe('pass')
    expect(metric(comparison.metrics, 'ttft.med').verdict).toBe('improvement')
  })

  it('fails a 20% slower decode through the decode rate and the end-to-end p95', () => {
    const comparison = compareRuns(baseline(run()), current({ decodeScale: 1.2 }), options)
    expect(comparison.verdict).toBe('regression')
    expect(metric(comparison.metrics, 'decode_rate.med').verdict).toBe('regression')
    expect(metric(comparison.metrics, 'ttft.med').verdict).toBe('pass')
  })

  it('calls a change beyond the limit inconclusive when there are too few samples', () => {
    const comparison = compareRuns(
      baseline(run({ n: 10 })),
      current({ n: 10, ttftScale: 1.3 }),
      options
    )
    expect(comparison.verdict).toBe('pass')
    expect(metric(comparison.metrics, 'ttft.med')).toMatchObject({
      verdict: 'inconclusive',
      explanation:
        'ttft.med +30.0%: too few samples to decide (10 in the baseline, 10 now; 20 needed in each).'
    })
  })

  it('calls a median jump that the distributions do not support within-noise', () => {
    // bimodal: one request moving from the fast mode to the slow one moves the median 10-fold,
    // but the two samples are nearly the same (Mann-Whitney p ≈ 0.9)
    const fastHeavy = [...Array(21).fill(100), ...Array(20).fill(1000)]
    const slowHeavy = [...Array(20).fill(100), ...Array(21).fill(1000)]
    const comparison = compareRuns(
      baseline(run({ ttfts: fastHeavy })),
      current({ ttfts: slowHeavy }),
      options
    )
    const ttft = metric(comparison.metrics, 'ttft.med')
    expect(ttft.relativeChange).toBeCloseTo(9, 10)
    expect(ttft.verdict).toBe('within-noise')
    expect(ttft.pValue).toBeGreaterThan(0.5)
    expect(ttft.explanation).toMatch(
      /is worse than the 6% limit but not significant \(Mann-Whitney U p = 0\.\d+, needs < 0\.01\)\.$/
    )
    expect(comparison.verdict).toBe('pass')
  })

  it('calls a significant change within the history’s run-to-run spread within-noise', () => {
    // runs of the same code at 0.85–1.25 × the time to first token; the newest at 1.0
    const history = [1.0, 1.25, 0.85, 1.2, 1.0].map(scale => run({ ttftScale: scale }))
    const comparison = compareRuns(baseline(...history), current({ ttftScale: 1.15 }), options)
    const ttft = metric(comparison.metrics, 'ttft.med')
    expect(ttft.pValue).toBeLessThan(0.01)
    expect(ttft.verdict).toBe('within-noise')
    expect(ttft.explanation).toContain('within the run-to-run noise of 5 baseline runs')
    expect(ttft.historyNoise).toBeGreaterThan(0.1)
    expect(comparison.verdict).toBe('pass')
  })

  it('still fails a change far outside a tight history', () => {
    const history = [1.0, 1.01, 0.99, 1.0, 1.0].map((scale, i) =>
      run({ ttftScale: scale, seed: i + 2 })
    )
    const comparison = compareRuns(
      baseline(...history),
      current({ ttftScale: 1.3, seed: 9 }),
      options
    )
    expect(metric(comparison.metrics, 'ttft.med')).toMatchObject({ verdict: 'regression' })
    expect(metric(comparison.metrics, 'ttft.med').explanation).toContain(
      'and outside the run-to-run noise of 5 baseline runs'
    )
  })

  it('measures the limit against the history’s mean, not the newest run, once it has one', () => {
    // the newest base run happens to be 8% slow; the mean of the four is 2% slow
    const history = [0.98, 1.0, 1.0, 1.08].map((scale, i) => run({ ttftScale: scale, seed: i + 2 }))
    const comparison = compareRuns(
      baseline(...history),
      current({ ttftScale: 1.06, seed: 9 }),
      options
    )
    const ttft = metric(comparison.metrics, 'ttft.med')
    const figures = history.map(r => r.summary.distributions.ttft.med as number)
    const mean = figures.reduce((total, f) => total + f, 0) / figures.length
    expect(ttft.baseline).toBeCloseTo(mean, 6)
    expect(ttft.relativeChange).toBeCloseTo((ttft.current as number) / mean - 1, 10)
    expect(ttft.explanation).toContain('against the mean of 4 baseline runs')
    const [low, high] = ttft.relativeChangeCi as [number, number]
    expect(low).toBeLessThan(ttft.relativeChange as number)
    expect(high).toBeGreaterThan(ttft.relativeChange as number)
  })

  describe('throughput', () => {
    function slowerThroughput(): CurrentRun {
      const slow = current({})
      slow.run.summary.throughput.output_tokens_per_second *= 0.8
      return slow
    }

    it('is inconclusive, not a regression, when worse without a history to measure its noise', () => {
      const comparison = compareRuns(baseline(run()), slowerThroughput(), options)
      expect(metric(comparison.metrics, 'output_tokens_per_second')).toMatchObject({
        verdict: 'inconclusive',
        pValue: null,
        relativeChangeCi: null,
        explanation:
          'output_tokens_per_second −20.0% is worse than the 6% limit, but a throughput has no per-request samples to test and the baseline holds 1 of the 5 runs needed to know its run-to-run noise.'
      })
      expect(comparison.verdict).toBe('pass')
    })

    it('regresses when worse than the limit and outside a tight history', () => {
      const history = [1, 2, 3, 4, 5].map(seed => run({ seed }))
      const comparison = compareRuns(baseline(...history), slowerThroughput(), options)
      const throughput = metric(comparison.metrics, 'output_tokens_per_second')
      expect(throughput.verdict).toBe('regression')
      expect(throughput.relativeChangeCi).not.toBeNull()
      expect(comparison.verdict).toBe('regression')
    })
  })

  it('fails an error rate 0.1 above the baseline against the absolute 0.01 limit', () => {
    // 0/100 vs 10/100: pooled 0.05, z = 0.1 / √(0.05 · 0.95 · 0.02) = 3.24, p = 0.0012
    const comparison = compareRuns(baseline(run()), current({ failures: 10 }), options)
    const errors = metric(comparison.metrics, 'error_rate')
    expect(errors.verdict).toBe('regression')
    expect(errors.pValue).toBeCloseTo(0.0012, 4)
    expect(comparison.reason).toContain('error_rate +0.1')
  })

  it('reports every other catalog metric by its main statistic, not gated', () => {
    const comparison = compareRuns(baseline(run()), current({}), options)
    const reported = comparison.metrics.filter(m => !m.gated).map(m => `${m.metric}.${m.stat}`)
    expect(reported).toEqual([
      'tpot.med',
      'itl.med',
      'e2e_latency.med',
      'prompt_tokens.med',
      'completion_tokens.med',
      'truncated_rate.value',
      'stop_rate.value',
      'requests_per_second.value',
      'total_tokens_per_second.value'
    ])
  })

  it('passes without a baseline', () => {
    const comparison = compareRuns(null, current({}), options)
    expect(comparison).toMatchObject({ verdict: 'no-baseline', baseline: null })
    expect(metric(comparison.metrics, 'ttft.med').current).toBeGreaterThan(0)
  })

  it('does not compare a baseline made with other settings, and says what differs', () => {
    const other = {
      ...baseline(run()),
      fingerprint: { hash: 'other', fields: { model: 'm', 'max-tokens': 256 } }
    }
    const comparison = compareRuns(other, current({ ttftScale: 2 }), options)
    expect(comparison.verdict).toBe('not-comparable')
    expect(comparison.differences).toEqual(['max-tokens: 256 → 512'])
    expect(comparison.reason).toBe(
      'The baseline was made with other settings: max-tokens: 256 → 512'
    )
  })

  it.each([
    ['aborted', 'error rate 0.6 above 0.5', 'The run was aborted: error rate 0.6 above 0.5'],
    ['failed', null, 'The run failed.']
  ] as const)('fails a run that was %s', (status, reason, expected) => {
    const comparison = compareRuns(baseline(run()), current({}, { status, reason }), options)
    expect(comparison).toMatchObject({ verdict: 'failed', reason: expected })
  })

  it('warns when the runner hardware differs but still compares', () => {
    const base = run()
    base.runner = { ...base.runner, cpu: 'Intel Xeon', cores: 2 }
    const comparison = compareRuns(baseline(base), current({}), options)
    expect(comparison.verdict).toBe('pass')
    expect(comparison.warnings).toEqual([
      'The runner differs from the baseline\'s (cpu: "Intel Xeon" → "AMD EPYC 7763"; cores: 2 → 4): figures may differ for that reason alone.'
    ])
  })

  it('names the newest baseline run', () => {
    const comparison = compareRuns(baseline(run({}, 'old'), run({}, 'new')), current({}), options)
    expect(comparison.baseline).toEqual({
      runs: 2,
      commit: 'new',
      ref: 'refs/heads/main',
      date: '2025-01-01T00:00:00.000Z'
    })
  })
})
