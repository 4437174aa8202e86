/**
 * Annotations for the workflow run page: one per gated regression, so the reason a job failed
 * is on the run's front page, not only in its summary. Plain text: annotations render no Markdown.
 */
import type { Comparison, MetricComparison } from '../gate/types.js'
import { sanitizeText } from './escape.js'
import { confidenceLabel, gatedRegressions } from './facts.js'
import {
  formatChange,
  formatInterval,
  formatLimit,
  formatPValue,
  formatValue,
  metricLabel
} from './format.js'

function regressionMessage(comparison: Comparison, metric: MetricComparison): string {
  const facts = [
    `${formatChange(metric.metric, metric.relativeChange)}: ${formatValue(metric.metric, metric.baseline)} → ${formatValue(metric.metric, metric.current)}`
  ]
  if (metric.threshold) facts.push(`limit ${formatLimit(metric.threshold)}`)
  if (metric.relativeChangeCi)
    facts.push(`${confidenceLabel(comparison)} ${formatInterval(metric.relativeChangeCi)}`)
  if (metric.pValue !== null) facts.push(`p-value ${formatPValue(metric.pValue)}`)
  const explanation = sanitizeText(metric.explanation, 500)
  return `${facts.join(', ')}.${explanation ? ` ${explanation}` : ''}`
}

/**
 * `{ title: 'Regression: Time to first token p95', message: '+23.4% ▲ worse: 812 ms → 1.00 s,
 * limit 10% worse, 99% CI +15.0% … +30.2%, p-value < 0.001. <explanation>' }` for every gated
 * metric whose verdict is a regression, in the order the reports name them.
 */
export function regressionAnnotations(
  comparison: Comparison
): { title: string; message: string }[] {
  return gatedRegressions(comparison).map(metric => ({
    title: `Regression: ${metricLabel(metric.metric, metric.stat)}`,
    message: regressionMessage(comparison, metric)
  }))
}
