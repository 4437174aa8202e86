import { invalidInput } from '../errors.js'

/** Every knob of the simulated server. Durations are simulated milliseconds. */
export interface SimOptions {
  host: string
  /** 0 = any free port. */
  port: number
  /** Seeds all randomness: timing jitter, faults, and output lengths of requests without a `seed`. */
  seed: number
  /** Wire shapes: llama.cpp's `llama-server` (as recorded) or vLLM's OpenAI server. */
  flavor: 'llamacpp' | 'openai'
  modelId: string
  /** Sequences decoded together (continuous batching); further requests wait in a FIFO queue. */
  slots: number
  /** `/health` and every endpoint answer 503 "Loading model" this long after start. */
  loadingMs: number
  prefillMsPerToken: number
  /** Decode step with one active sequence; see `batchSlowdownPerSeq`. */
  decodeMsPerToken: number
  /** Decode step = decodeMsPerToken * (1 + batchSlowdownPerSeq * (active - 1)). */
  batchSlowdownPerSeq: number
  /** Mean natural output length (finish reason `stop`); `max_tokens` caps it (`length`). */
  outputTokensMean: number
  /** Relative standard deviation of per-request and per-token timing noise. */
  jitter: number
  /** Multiplies every duration: models a faster or slower runner for this whole run. */
  runSpeedFactor: number
  /** Multiplies every duration: an injected regression. */
  slowdown: number
  prefillSlowdown: number
  decodeSlowdown: number
  /** Real sleeps are divided by this; reported durations (llama.cpp `timings`) stay simulated. */
  timeScale: number
  /** Fraction of completion requests answered at once with `errorStatus`. */
  errorRate: number
  errorStatus: 429 | 500 | 503
  /** Fraction of streams whose socket is destroyed mid-stream. */
  disconnectRate: number
  /** Fraction of streams that send an error event inside the 200 stream. */
  streamErrorRate: number
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. */
  apiKey?: string
}

/** A small GPU-served model: ~67 tokens/s alone, ~47 tokens/s each with 6 sequences batched. */
export const DEFAULT_SIM_OPTIONS: SimOptions = {
  host: '127.0.0.1',
  port: 0,
  seed: 1,
  flavor: 'llamacpp',
  modelId: 'my-model',
  slots: 6,
  loadingMs: 0,
  prefillMsPerToken: 0.2,
  decodeMsPerToken: 15,
  batchSlowdownPerSeq: 0.08,
  outputTokensMean: 200,
  jitter: 0.05,
  runSpeedFactor: 1,
  slowdown: 1,
  prefillSlowdown: 1,
  decodeSlowdown: 1,
  timeScale: 1,
  errorRate: 0,
  errorStatus: 503,
  disconnectRate: 0,
  streamErrorRate: 0,
  apiKey: undefined
}

type NumericKey = {
  [K in keyof SimOptions]: SimOptions[K] extends number ? K : never
}[keyof SimOptions] &
  string

interface NumericRule {
  integer: boolean
  min: number
  max: number
  /** Whether `min` itself is allowed. */
  minInclusive: boolean
}

const positive: NumericRule = { integer: false, min: 0, max: Infinity, minInclusive: false }
const nonNegative: NumericRule = { integer: false, min: 0, max: Infinity, minInclusive: true }
const fraction: NumericRule = { integer: false, min: 0, max: 1, minInclusive: true }

/** The rule of every numeric option, shared by `startSimServer` and the CLI flags. */
export const NUMERIC_RULES: Record<Exclude<NumericKey, 'errorStatus'>, NumericRule> = {
  port: { integer: true, min: 0, max: 65535, minInclusive: true },
  seed: { integer: true, min: 0, max: 2 ** 32 - 1, minInclusive: true },
  slots: { integer: true, min: 1, max: 4096, minInclusive: true },
  loadingMs: nonNegative,
  prefillMsPerToken: nonNegative,
  decodeMsPerToken: nonNegative,
  batchSlowdownPerSeq: nonNegative,
  outputTokensMean: { integer: false, min: 1, max: 1_000_000, minInclusive: true },
  jitter: { integer: false, min: 0, max: 0.5, minInclusive: true },
  runSpeedFactor: positive,
  slowdown: positive,
  prefillSlowdown: positive,
  decodeSlowdown: positive,
  timeScale: positive,
  errorRate: fraction,
  disconnectRate: fraction,
  streamErrorRate: fraction
}

export const ERROR_STATUSES = [429, 500, 503] as const
export const FLAVORS = ['llamacpp', 'openai'] as const

/** Human wording of a rule, for `invalidInput`'s "must be <rule>". */
export function describeRule(rule: NumericRule): string {
  const kind = rule.integer ? 'an integer' : 'a number'
  const low = rule.minInclusive ? `>= ${rule.min}` : `> ${rule.min}`
  return rule.max === Infinity ? `${kind} ${low}` : `${kind} ${low} and <= ${rule.max}`
}

export function satisfiesRule(value: number, rule: NumericRule): boolean {
  if (!Number.isFinite(value)) return false
  if (rule.integer && !Number.isInteger(value)) return false
  const aboveMin = rule.minInclusive ? value >= rule.min : value > rule.min
  return aboveMin && value <= rule.max
}

/** Merges over the defaults and rejects impossible values, naming the option. */
export function resolveSimOptions(partial: Partial<SimOptions> = {}): SimOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const options: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...defined }
  for (const [key, rule] of Object.entries(NUMERIC_RULES)) {
    const value: unknown = options[key as keyof typeof NUMERIC_RULES]
    if (typeof value !== 'number' || !satisfiesRule(value, rule)) {
      throw invalidInput(key, value, describeRule(rule))
    }
  }
  if (!(ERROR_STATUSES as readonly number[]).includes(options.errorStatus)) {
    throw invalidInput('errorStatus', options.errorStatus, `one of ${ERROR_STATUSES.join(', ')}`)
  }
  if (!(FLAVORS as readonly string[]).includes(options.flavor)) {
    throw invalidInput('flavor', options.flavor, `one of ${FLAVORS.join(', ')}`)
  }
  return options
}
