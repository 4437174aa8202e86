import { mean, sampleStandardDeviation } from 'simple-statistics'
import type { SettingsFingerprint } from '../baseline/fingerprint.js'
import { fingerprintDifferences } from '../baseline/fingerprint.js'
import type { BaselineFile, BaselineRun, BaselineSamples } from '../baseline/store.js'
import { METRICS, type MetricDefinition } from '../metrics/catalog.js'
import type { DistributionMetricId, DistributionStat, RateMetricId } from '../metrics/types.js'
import type { RunStatus } from '../results/schema.js'
import {
  bootstrapRelativeChangeCi,
  mannWhitneyU,
  normalQuantile,
  studentTQuantile,
  twoProportionTest
} from './stats.js'
import { thresholdName } from './thresholds.js'
import type { Comparison, MetricComparison, MetricVerdict, Threshold } from './types.js'

export interface GateOptions {
  thresholds: Threshold[]
  /** Confidence of the significance tests, intervals and noise bands; 0.99 by default. */
  confidence: number
  /** Fewer per-request samples (or requests, for rates) in either run → inconclusive. */
  minSamples?: number
  /** Base runs needed before the run-to-run noise of the history is used. */
  minHistoryForNoise?: number
}

export const DEFAULT_CONFIDENCE = 0.99
export const DEFAULT_MIN_SAMPLES = 20
/**
 * Why 5: the noise band's t quantile has n − 1 degrees of freedom, and at 99% it is 6.96 with
 * 3 runs (a band of about 8 standard deviations, which hides a 10% regression), 3.75 with 5.
 */
export const DEFAULT_MIN_HISTORY_FOR_NOISE = 5
/**
 * A fixed seed: the same two runs always get the same bootstrap interval. The bootstrap runs
 * for gated distributions only: a thousand resamples of a few thousand requests take a fraction
 * of a second per metric, too slow to spend on every reported one.
 */
const BOOTSTRAP_SEED = 1

export interface CurrentRun {
  fingerprint: SettingsFingerprint
  run: BaselineRun
  status: RunStatus
  reason: string | null
}

interface Settings {
  confidence: number
  minSamples: number
  minHistoryForNoise: number
}

/** The figure of one metric in a run: a statistic of a distribution, a rate or a throughput. */
export function runFigure(
  run: BaselineRun,
  definition: MetricDefinition,
  stat: DistributionStat | 'value'
): number | null {
  const { summary } = run
  if (definition.kind === 'distribution') {
    if (stat === 'value') return null
    return summary.distributions[definition.id as DistributionMetricId][stat]
  }
  if (definition.kind === 'rate') return summary.rates[definition.id as RateMetricId]
  return summary.throughput[definition.id as keyof typeof summary.throughput]
}

/** How much worse `current` is than `base`, positive when worse, in the metric's direction. */
function worseBy(definition: MetricDefinition, base: number, current: number): number {
  return definition.direction === 'lower-is-better' ? current - base : base - current
}

/** The change measured the way the limit is given: a fraction of the base, or in the unit. */
function worseByLimitUnit(
  threshold: Threshold | null,
  definition: MetricDefinition,
  base: number,
  current: number
): number | null {
  const worse = worseBy(definition, base, current)
  if (threshold?.kind === 'absolute') return worse
  return base === 0 ? (worse === 0 ? 0 : null) : worse / Math.abs(base)
}

function percent(fraction: number): string {
  const text = `${Math.abs(fraction * 100).toFixed(1)}%`
  return fraction < 0 ? `−${text}` : `+${text}`
}

function signedNumber(value: number): string {
  const text = String(Number(Math.abs(value).toPrecision(3)))
  return value < 0 ? `−${text}` : `+${text}`
}

function limitText(threshold: Threshold | null, definition: MetricDefinition): string {
  if (threshold === null) return 'its baseline (not gated)'
  return threshold.kind === 'relative'
    ? `the ${Number((threshold.limit * 100).toPrecision(4))}% limit`
    : `the ${threshold.limit} ${definition.unit} limit`
}

function changeText(
  comparison: Pick<MetricComparison, 'threshold' | 'baseline' | 'current' | 'relativeChange'>
): string {
  const { threshold, baseline, current, relativeChange } = comparison
  if (threshold?.kind !== 'absolute' && relativeChange !== null) return percent(relativeChange)
  return baseline !== null && current !== null ? signedNumber(current - baseline) : 'n/a'
}

function pText(p: number): string {
  return p < 0.0001 ? '< 0.0001' : `= ${Number(p.toPrecision(2))}`
}

interface SignificanceTest {
  /** Samples (or requests) in the base and current run. */
  n: [number, number]
  pValue: number
  /** Positive when the current run tends to be worse. */
  worseSign: number
  ci: [number, number] | null
}

const RATE_COUNTS: Record<RateMetricId, (counts: BaselineSamples['counts']) => [number, number]> = {
  truncated_rate: counts => [counts.truncated, counts.succeeded],
  stop_rate: counts => [counts.stopped, counts.succeeded],
  error_rate: counts => [counts.failed, counts.measured - counts.cut]
}

function distributionTest(
  definition: MetricDefinition,
  stat: DistributionStat,
  base: BaselineRun,
  current: BaselineRun,
  confidence: number,
  withCi: boolean
): SignificanceTest {
  const id = definition.id as DistributionMetricId
  const a = base.samples[id] ?? []
  const b = current.samples[id] ?? []
  const { z, pValue } = mannWhitneyU(b, a)
  const sign = definition.direction === 'lower-is-better' ? Math.sign(z) : -Math.sign(z)
  const ci = withCi ? bootstrapRelativeChangeCi(a, b, stat, confidence, BOOTSTRAP_SEED) : null
  return { n: [a.length, b.length], pValue, worseSign: sign, ci }
}

/** Normal-approximation interval of the difference of two proportions, relative to the base. */
function rateCi(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence: number
): [number, number] | null {
  const p1 = x1 / n1
  const p2 = x2 / n2
  if (!(p1 > 0) || n2 <= 0) return null
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2)
  const z = normalQuantile((1 + confidence) / 2)
  return [(p2 - p1 - z * se) / p1, (p2 - p1 + z * se) / p1]
}

function rateTest(
  definition: MetricDefinition,
  base: BaselineRun,
  current: BaselineRun,
  confidence: number
): SignificanceTest {
  const counts = RATE_COUNTS[definition.id as RateMetricId]
  const [x1, n1] = counts(base.samples.counts)
  const [x2, n2] = counts(current.samples.counts)
  const { z, pValue } = twoProportionTest(x1, n1, x2, n2)
  const sign = definition.direction === 'lower-is-better' ? Math.sign(z) : -Math.sign(z)
  return { n: [n1, n2], pValue, worseSign: sign, ci: rateCi(x1, n1, x2, n2, confidence) }
}

interface HistoryNoise {
  runs: number
  mean: number
  sd: number
  /** Half-width of the prediction interval for one more run: t · sd · √(1 + 1/n). */
  halfWidth: number
}

/**
 * The run-to-run spread of a figure over the base runs, as a one-sided prediction interval for
 * one more run of the same code at `confidence`; null with fewer than `minRuns` figures.
 */
function historyNoise(figures: number[], confidence: number, minRuns: number): HistoryNoise | null {
  if (figures.length < Math.max(2, minRuns)) return null
  const n = figures.length
  const sd = sampleStandardDeviation(figures)
  const t = studentTQuantile(confidence, n - 1)
  return { runs: n, mean: mean(figures), sd, halfWidth: t * sd * Math.sqrt(1 + 1 / n) }
}

/** How far the current figure lies beyond the noise band, positive when outside on the worse side. */
function beyondNoise(definition: MetricDefinition, noise: HistoryNoise, current: number): number {
  return worseBy(definition, noise.mean, current) - noise.halfWidth
}

function beyondNoiseBetter(
  definition: MetricDefinition,
  noise: HistoryNoise,
  current: number
): number {
  return -worseBy(definition, noise.mean, current) - noise.halfWidth
}

/**
 * The significance test's interval is of the change against the newest run; against the mean
 * of a short history the same sampling uncertainty is re-expressed: (1 + c) · newest / mean − 1.
 */
function rebase(
  ci: [number, number] | null,
  newest: number | null,
  reference: number | null
): [number, number] | null {
  if (ci === null || newest === null || reference === null || reference === 0) return ci
  const factor = newest / reference
  return [(1 + ci[0]) * factor - 1, (1 + ci[1]) * factor - 1]
}

function historyCi(
  relativeChange: number | null,
  noise: HistoryNoise | null,
  confidence: number
): [number, number] | null {
  if (relativeChange === null || noise === null || noise.mean === 0) return null
  const t = studentTQuantile((1 + confidence) / 2, noise.runs - 1)
  const half = (t * noise.sd * Math.sqrt(1 + 1 / noise.runs)) / Math.abs(noise.mean)
  return [relativeChange - half, relativeChange + half]
}

function noiseText(noise: HistoryNoise): string {
  const relative =
    noise.mean === 0 ? '' : ` (±${((noise.halfWidth / Math.abs(noise.mean)) * 100).toFixed(1)}%)`
  return `the run-to-run noise of ${noise.runs} baseline runs${relative}`
}

/**
 * One metric against the newest base run, or against the mean of the history once it holds
 * two runs. A change worse than its limit is a regression only when it is
 * also significant (rank test or proportion test against the newest run, in the worse
 * direction) and, with a history, outside the history's noise band. Throughputs have no
 * per-request samples: without a history they are judged by the limit alone and can at most
 * be inconclusive.
 */
function compareMetric(
  definition: MetricDefinition,
  stat: DistributionStat | 'value',
  threshold: Threshold | null,
  baseline: BaselineFile,
  current: BaselineRun,
  settings: Settings
): MetricComparison {
  const newest = baseline.runs[baseline.runs.length - 1]
  const figures = baseline.runs
    .map(run => runFigure(run, definition, stat))
    .filter((f): f is number => f !== null)
  const noise = historyNoise(figures, settings.confidence, settings.minHistoryForNoise)
  // With two base runs or more, the reference is their mean: one base run carries the whole
  // run-to-run noise of the runner (σ), the mean of n runs σ/√n, so the limit no longer hangs on
  // one run's luck.
  const newestFigure = runFigure(newest, definition, stat)
  const baseFigure = newestFigure !== null && figures.length >= 2 ? mean(figures) : newestFigure
  const currentFigure = runFigure(current, definition, stat)
  const relativeChange =
    baseFigure !== null && currentFigure !== null && baseFigure !== 0
      ? currentFigure / baseFigure - 1
      : null
  const partial = {
    metric: definition.id,
    stat,
    gated: threshold !== null,
    threshold,
    baseline: baseFigure,
    current: currentFigure,
    relativeChange,
    historyNoise: noise && noise.mean !== 0 ? noise.sd / Math.abs(noise.mean) : null
  }
  const name = thresholdName({ metric: definition.id, stat })
  const result = (
    verdict: MetricVerdict,
    explanation: string,
    test: SignificanceTest | null = null
  ): MetricComparison => ({
    ...partial,
    // With a history, the interval of its run-to-run noise: a bootstrap of two runs' requests
    // knows nothing of the runner's speed, which all of a run's requests share.
    relativeChangeCi:
      noise !== null
        ? historyCi(relativeChange, noise, settings.confidence)
        : test
          ? rebase(test.ci, newestFigure, baseFigure)
          : null,
    pValue: test?.pValue ?? null,
    verdict,
    explanation
  })
  if (baseFigure === null || currentFigure === null) {
    return result(
      'inconclusive',
      `${name}: no figure in the ${baseFigure === null ? 'baseline' : 'current run'}.`
    )
  }
  const change =
    changeText({ threshold, baseline: baseFigure, current: currentFigure, relativeChange }) +
    (figures.length >= 2 ? ` against the mean of ${figures.length} baseline runs` : '')
  const worse = worseByLimitUnit(threshold, definition, baseFigure, currentFigure)
  if (worse === null)
    return result('inconclusive', `${name}: the baseline is 0, so a relative change is undefined.`)
  const limit = threshold?.limit ?? 0
  const isWorse = worse > limit
  const isBetter = -worse > limit
  const limitPhrase = limitText(threshold, definition)

  if (definition.kind === 'throughput') {
    if (!isWorse && !isBetter) return result('pass', `${name} ${change}: within ${limitPhrase}.`)
    if (noise === null) {
      return isWorse
        ? result(
            'inconclusive',
            `${name} ${change} is worse than ${limitPhrase}, but a throughput has no per-request samples to test and the baseline holds ${figures.length} of the ${settings.minHistoryForNoise} runs needed to know its run-to-run noise.`
          )
        : result(
            'pass',
            `${name} ${change} is better than ${limitPhrase}; without ${settings.minHistoryForNoise} baseline runs it cannot be told from noise.`
          )
    }
    if (isWorse) {
      return beyondNoise(definition, noise, currentFigure) > 0
        ? result(
            'regression',
            `${name} ${change} is worse than ${limitPhrase} and outside ${noiseText(noise)}.`
          )
        : result(
            'within-noise',
            `${name} ${change} is worse than ${limitPhrase} but within ${noiseText(noise)}.`
          )
    }
    return beyondNoiseBetter(definition, noise, currentFigure) > 0
      ? result(
          'improvement',
          `${name} ${change} is better than ${limitPhrase} and outside ${noiseText(noise)}.`
        )
      : result(
          'pass',
          `${name} ${change} is better than ${limitPhrase} but within ${noiseText(noise)}.`
        )
  }

  const test =
    definition.kind === 'distribution'
      ? distributionTest(
          definition,
          stat as DistributionStat,
          newest,
          current,
          settings.confidence,
          threshold !== null && noise === null
        )
      : rateTest(definition, newest, current, settings.confidence)
  if (!isWorse && !isBetter)
    return result('pass', `${name} ${change}: within ${limitPhrase}.`, test)
  const [nBase, nCurrent] = test.n
  if (Math.min(nBase, nCurrent) < settings.minSamples) {
    return result(
      'inconclusive',
      `${name} ${change}: too few samples to decide (${nBase} in the baseline, ${nCurrent} now; ${settings.minSamples} needed in each).`,
      test
    )
  }
  const alpha = 1 - settings.confidence
  const significant = test.pValue < alpha && test.worseSign === (isWorse ? 1 : -1)
  const testName = definition.kind === 'distribution' ? 'Mann-Whitney U' : 'two-proportion z'
  const pPhrase = `${testName} p ${pText(test.pValue)}`
  if (isWorse) {
    if (!significant)
      return result(
        'within-noise',
        `${name} ${change} is worse than ${limitPhrase} but not significant (${pPhrase}, needs < ${Number(alpha.toPrecision(3))}).`,
        test
      )
    if (noise && beyondNoise(definition, noise, currentFigure) <= 0) {
      return result(
        'within-noise',
        `${name} ${change} is worse than ${limitPhrase} and significant (${pPhrase}) but within ${noiseText(noise)}.`,
        test
      )
    }
    const noisePart = noise ? ` and outside ${noiseText(noise)}` : ''
    return result(
      'regression',
      `${name} ${change} is worse than ${limitPhrase} and significant (${pPhrase})${noisePart}.`,
      test
    )
  }
  if (significant && !(noise && beyondNoiseBetter(definition, noise, currentFigure) <= 0)) {
    return result(
      'improvement',
      `${name} ${change} is better than ${limitPhrase} and significant (${pPhrase}).`,
      test
    )
  }
  return result(
    'pass',
    `${name} ${change} is better than ${limitPhrase}, but not beyond the noise (${pPhrase}).`,
    test
  )
}

/** The gated thresholds, then every other catalog metric with its main statistic, not gated. */
function metricPlan(thresholds: readonly Threshold[]): {
  definition: MetricDefinition
  stat: DistributionStat | 'value'
  threshold: Threshold | null
}[] {
  const gated = thresholds.map(threshold => ({
    definition: METRICS.find(metric => metric.id === threshold.metric) as MetricDefinition,
    stat: threshold.stat,
    threshold
  }))
  const reported = METRICS.map(definition => ({
    definition,
    stat: (definition.kind === 'distribution' ? 'med' : 'value') as DistributionStat | 'value',
    threshold: null
  })).filter(item => !thresholds.some(t => t.metric === item.definition.id && t.stat === item.stat))
  return [...gated, ...reported]
}

/** Figures of the current run alone, when there is nothing to compare them with. */
function uncompared(
  plan: ReturnType<typeof metricPlan>,
  run: BaselineRun,
  baselineRun: BaselineRun | null,
  why: string
): MetricComparison[] {
  return plan.map(({ definition, stat, threshold }) => {
    const current = runFigure(run, definition, stat)
    const base = baselineRun ? runFigure(baselineRun, definition, stat) : null
    return {
      metric: definition.id,
      stat,
      gated: threshold !== null,
      threshold,
      baseline: base,
      current,
      relativeChange: base !== null && current !== null && base !== 0 ? current / base - 1 : null,
      relativeChangeCi: null,
      pValue: null,
      historyNoise: null,
      verdict: 'inconclusive',
      explanation: why
    }
  })
}

const RUNNER_FIELDS = ['cpu', 'cores', 'gpu'] as const

function runnerWarnings(base: BaselineRun, current: BaselineRun): string[] {
  const differences = RUNNER_FIELDS.filter(
    field => base.runner?.[field] !== current.runner?.[field]
  ).map(
    field =>
      `${field}: ${JSON.stringify(base.runner?.[field] ?? null)} → ${JSON.stringify(current.runner?.[field] ?? null)}`
  )
  return differences.length === 0
    ? []
    : [
        `The runner differs from the baseline's (${differences.join('; ')}): figures may differ for that reason alone.`
      ]
}

function clientWarnings(current: BaselineRun): string[] {
  return current.summary.client?.bottleneck
    ? ['The benchmarking client itself was busy (event-loop lag): its timings may be inflated.']
    : []
}

function verdictReason(metrics: readonly MetricComparison[]): {
  verdict: 'pass' | 'regression'
  reason: string
} {
  const gated = metrics.filter(metric => metric.gated)
  const regressed = gated.filter(metric => metric.verdict === 'regression')
  if (regressed.length > 0) {
    const list = regressed
      .map(metric => `${thresholdName(metric)} ${changeText(metric)}`)
      .join(', ')
    const noun = regressed.length === 1 ? 'gated metric' : 'gated metrics'
    return { verdict: 'regression', reason: `${regressed.length} ${noun} regressed: ${list}` }
  }
  const counts = new Map<string, number>()
  for (const metric of gated) counts.set(metric.verdict, (counts.get(metric.verdict) ?? 0) + 1)
  const tally = [...counts]
    .map(([verdict, count]) => `${count} ${verdict.replace('-', ' ')}`)
    .join(', ')
  return {
    verdict: 'pass',
    reason: gated.length === 0 ? 'No metric is gated.' : `No gated metric regressed: ${tally}.`
  }
}

/**
 * The gate's decision for the current run against a baseline history.
 *
 * In plain words: a run that did not complete fails. Without a baseline there is nothing to
 * compare and the run passes (`no-baseline`). A baseline made with other settings is
 * `not-comparable` and the differing settings are listed. Otherwise every gated metric is
 * compared with the newest baseline run or, once the baseline holds two runs or more, with the
 * mean of their figures, and it regresses only when all of these hold:
 * (a) it is worse than its limit (a share of that reference figure, or a difference in the
 * metric's unit); (b) the difference is statistically significant at `confidence`, in the worse
 * direction: a Mann-Whitney U test on the per-request values of both runs for distributions, a
 * two-proportion test for rates (throughputs have no per-request values and skip this test);
 * (c) once the baseline holds `minHistoryForNoise` runs or more, the current figure lies outside
 * the run-to-run noise of that history: the one-sided prediction interval
 * mean ± t(confidence, n − 1) · sd · √(1 + 1/n) of the base runs' figures, so a change of the
 * usual size between runs never fails. Too few samples make a metric inconclusive, never a
 * failure, and so does a worse throughput before there is a history to measure its noise. The
 * run's verdict is `regression` when any gated metric regressed, `pass` otherwise. Every other
 * catalog metric is reported with its main statistic (`med` for distributions), not gated.
 */
export function compareRuns(
  baseline: BaselineFile | null,
  current: CurrentRun,
  options: GateOptions
): Comparison {
  const settings: Settings = {
    confidence: options.confidence,
    minSamples: options.minSamples ?? DEFAULT_MIN_SAMPLES,
    minHistoryForNoise: options.minHistoryForNoise ?? DEFAULT_MIN_HISTORY_FOR_NOISE
  }
  const plan = metricPlan(options.thresholds)
  const newest = baseline?.runs.at(-1) ?? null
  const base = {
    confidence: settings.confidence,
    baseline:
      baseline && newest
        ? { runs: baseline.runs.length, commit: newest.commit, ref: newest.ref, date: newest.date }
        : null,
    differences: [] as string[],
    warnings: clientWarnings(current.run)
  }
  const failed =
    current.status !== 'completed'
      ? `The run ${current.status === 'failed' ? 'failed' : `was ${current.status}`}${current.reason ? `: ${current.reason}` : '.'}`
      : null
  if (!baseline || !newest) {
    return {
      ...base,
      verdict: failed ? 'failed' : 'no-baseline',
      reason: failed ?? 'No baseline to compare with yet: this run can become the first.',
      metrics: uncompared(plan, current.run, null, 'No baseline to compare with.')
    }
  }
  if (baseline.fingerprint.hash !== current.fingerprint.hash) {
    const differences = fingerprintDifferences(
      baseline.fingerprint.fields,
      current.fingerprint.fields
    )
    return {
      ...base,
      verdict: failed ? 'failed' : 'not-comparable',
      reason:
        failed ??
        `The baseline was made with other settings: ${differences.join('; ') || 'fingerprint ' + baseline.fingerprint.hash + ' → ' + current.fingerprint.hash}`,
      metrics: uncompared(
        plan,
        current.run,
        newest,
        'Not compared: the baseline was made with other settings.'
      ),
      differences
    }
  }
  const metrics = plan.map(({ definition, stat, threshold }) =>
    compareMetric(definition, stat, threshold, baseline, current.run, settings)
  )
  const warnings = [...runnerWarnings(newest, current.run), ...base.warnings]
  if (failed) return { ...base, warnings, verdict: 'failed', reason: failed, metrics }
  return { ...base, warnings, ...verdictReason(metrics), metrics }
}
