import type { MetricId } from './types.js'

export type Direction = 'lower-is-better' | 'higher-is-better'

export interface MetricDefinition {
  id: MetricId
  kind: 'distribution' | 'rate' | 'throughput'
  title: string
  unit: 'ms' | 'tokens/s' | 'tokens' | 'ratio' | 'requests/s'
  direction: Direction
  /** The k6 server benchmark's metric this corresponds to, when it has one. */
  k6?: string
  definition: string
}

/** One entry per metric: the single source of names, units and directions. */
export const METRICS: readonly MetricDefinition[] = [
  {
    id: 'ttft',
    kind: 'distribution',
    title: 'Time to first token',
    unit: 'ms',
    direction: 'lower-is-better',
    k6: 'llamacpp_emit_first_token_second',
    definition: 'From sending the request to the first chunk that carries a token.'
  },
  {
    id: 'prompt_processing_rate',
    kind: 'distribution',
    title: 'Prompt processing rate',
    unit: 'tokens/s',
    direction: 'higher-is-better',
    k6: 'llamacpp_prompt_processing_second',
    definition: 'Prompt tokens divided by the time to first token.'
  },
  {
    id: 'decode_rate',
    kind: 'distribution',
    title: 'Decode rate',
    unit: 'tokens/s',
    direction: 'higher-is-better',
    k6: 'llamacpp_tokens_second',
    definition:
      'Completion tokens divided by the time from the first token to the end of the stream.'
  },
  {
    id: 'tpot',
    kind: 'distribution',
    title: 'Time per output token',
    unit: 'ms',
    direction: 'lower-is-better',
    definition:
      'Per request, from the first to the last token divided by the tokens after the first.'
  },
  {
    id: 'itl',
    kind: 'distribution',
    title: 'Inter-token latency',
    unit: 'ms',
    direction: 'lower-is-better',
    definition: 'Every gap between two consecutive token-bearing chunks, over all requests.'
  },
  {
    id: 'e2e_latency',
    kind: 'distribution',
    title: 'End-to-end latency',
    unit: 'ms',
    direction: 'lower-is-better',
    definition: 'From sending the request to the end of its stream.'
  },
  {
    id: 'prompt_tokens',
    kind: 'distribution',
    title: 'Prompt tokens',
    unit: 'tokens',
    direction: 'lower-is-better',
    k6: 'llamacpp_prompt_tokens',
    definition: 'Prompt tokens per request, as the server counted them (usage).'
  },
  {
    id: 'completion_tokens',
    kind: 'distribution',
    title: 'Completion tokens',
    unit: 'tokens',
    direction: 'higher-is-better',
    k6: 'llamacpp_completion_tokens',
    definition:
      'Completion tokens per request (usage, or token-bearing chunks when the server sends none).'
  },
  {
    id: 'truncated_rate',
    kind: 'rate',
    title: 'Truncated rate',
    unit: 'ratio',
    direction: 'lower-is-better',
    k6: 'llamacpp_completions_truncated_rate',
    definition: 'Share of successful requests whose finish reason is `length`.'
  },
  {
    id: 'stop_rate',
    kind: 'rate',
    title: 'Stop rate',
    unit: 'ratio',
    direction: 'higher-is-better',
    k6: 'llamacpp_completions_stop_rate',
    definition: 'Share of successful requests whose finish reason is `stop`.'
  },
  {
    id: 'error_rate',
    kind: 'rate',
    title: 'Error rate',
    unit: 'ratio',
    direction: 'lower-is-better',
    definition: 'Share of measured requests that failed, whatever the error class.'
  },
  {
    id: 'requests_per_second',
    kind: 'throughput',
    title: 'Requests per second',
    unit: 'requests/s',
    direction: 'higher-is-better',
    definition: 'Successful requests divided by the measured window.'
  },
  {
    id: 'output_tokens_per_second',
    kind: 'throughput',
    title: 'Output tokens per second',
    unit: 'tokens/s',
    direction: 'higher-is-better',
    k6: 'llamacpp_completion_tokens_total_counter (rate)',
    definition: 'Completion tokens of successful requests divided by the measured window.'
  },
  {
    id: 'total_tokens_per_second',
    kind: 'throughput',
    title: 'Total tokens per second',
    unit: 'tokens/s',
    direction: 'higher-is-better',
    k6: 'llamacpp_prompt_tokens_total_counter + completion (rate)',
    definition:
      'Prompt and completion tokens of successful requests divided by the measured window.'
  }
]

export function metricDefinition(id: string): MetricDefinition | undefined {
  return METRICS.find(metric => metric.id === id)
}
