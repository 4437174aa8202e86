/**
 * Every setting of a benchmark run, in one typed shape shared by the CLI and the action.
 * Defaults are those of llama.cpp's k6 server benchmark (`SERVER_BENCH_*`), so a user of that
 * script gets the same run. Durations are in milliseconds everywhere inside the program.
 */
import { redactUrl } from '../report/escape.js'

export const DEFAULT_DATASET_URL =
  'https://huggingface.co/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered/resolve/main/ShareGPT_V3_unfiltered_cleaned_split.json'

export interface DatasetSettings {
  /** A local path or an http(s) URL of a ShareGPT-format JSON file. */
  source: string
  /** Expected SHA-256 (hex) of the file; verified when given. */
  sha256?: string
  /** Where downloads and prepared prompt sets are kept. */
  cacheDir: string
  /** Keep the first N prompts that pass the filters, in file order. */
  nPrompts: number
  /** Minimum number of turns in a conversation. */
  minTurns: number
  /** Minimum pseudo-tokens of the prompt and of the completion, each. */
  minTokens: number
  /** Maximum pseudo-tokens of the prompt. */
  maxPromptTokens: number
  /** Maximum pseudo-tokens of prompt + completion. */
  maxContext: number
}

export interface RequestSettings {
  /** Base URL of the OpenAI-compatible API, ending before `/chat/completions`, e.g. `http://localhost:8080/v1`. */
  serverUrl: string
  model: string
  /** Sent as `Authorization: Bearer <apiKey>`; never logged or written. */
  apiKey?: string
  systemPrompt: string
  maxTokens: number
  stop: string[]
  seed: number | null
  /** Extra body fields merged over the default body (JSON object). */
  extraBody: Record<string, unknown>
  /** Extra HTTP headers. Values may be secret: never logged or written. */
  headers: Record<string, string>
  /** Per-request timeout; a request still running then fails with error class `timeout`. */
  requestTimeoutMs: number
}

export interface LoadSettings {
  /** Closed loop: virtual users. Open loop: the cap on requests in flight (0 = no cap). */
  concurrency: number
  /** Measured phase length. */
  durationMs: number
  /** Stop after this many completed measured requests (0 = no limit). */
  requests: number
  /** Closed loop: pause of each virtual user after a request. */
  thinkTimeMs: number
  /** Open loop when > 0: mean request rate (requests/s) with Poisson arrivals. */
  rate: number
  /** Seed of the open loop's arrival times. */
  arrivalSeed: number
  /** Requests sent before measuring starts, not counted. */
  warmupRequests: number
  /** How long to wait for the server to become ready. */
  readyTimeoutMs: number
  /** How long requests in flight may run after the duration ends before they are cut. */
  graceMs: number
  /** Abort when more than this fraction of completions are truncated (finish reason `length`); 1 = never. */
  abortTruncatedRate: number
  /** Abort when more than this fraction of requests fail; 1 = never. */
  abortErrorRate: number
  /** Abort thresholds are evaluated only after this much measured time. */
  abortAfterMs: number
}

export interface BenchSettings {
  dataset: DatasetSettings
  request: RequestSettings
  load: LoadSettings
}

export const DEFAULT_SETTINGS: BenchSettings = {
  dataset: {
    source: DEFAULT_DATASET_URL,
    cacheDir: '.llm-bench/cache',
    nPrompts: 480,
    minTurns: 2,
    minTokens: 4,
    maxPromptTokens: 1024,
    maxContext: 2048
  },
  request: {
    serverUrl: 'http://localhost:8080/v1',
    model: 'my-model',
    systemPrompt: 'You are ChatGPT, an AI assistant.',
    maxTokens: 512,
    stop: ['<|im_end|>'],
    seed: 42,
    extraBody: {},
    headers: {},
    requestTimeoutMs: 600_000
  },
  load: {
    concurrency: 8,
    durationMs: 600_000,
    requests: 0,
    thinkTimeMs: 300,
    rate: 0,
    arrivalSeed: 1,
    warmupRequests: 0,
    readyTimeoutMs: 600_000,
    graceMs: 30_000,
    abortTruncatedRate: 0.8,
    abortErrorRate: 1,
    abortAfterMs: 60_000
  }
}

/**
 * The settings as written to results and reports: the key, the header values and the URLs'
 * userinfo and credential-like query values replaced by a mark. `runBenchmark` also scrubs
 * every other query value (see `secretsOf`).
 */
export function redactSettings(settings: BenchSettings): BenchSettings {
  const headers = Object.fromEntries(Object.keys(settings.request.headers).map(k => [k, '***']))
  return {
    ...settings,
    dataset: { ...settings.dataset, source: redactUrl(settings.dataset.source) },
    request: {
      ...settings.request,
      serverUrl: redactUrl(settings.request.serverUrl),
      apiKey: settings.request.apiKey ? '***' : undefined,
      headers
    }
  }
}
