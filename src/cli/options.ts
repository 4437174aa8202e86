/**
 * The `run` command's flags: one per setting, named like the action's inputs, plus the
 * environment variables of llama.cpp's k6 script so its users switch without changes.
 */
import { existsSync } from 'node:fs'

import type { RawSettings, SettingName } from '../config/parse.js'

export interface FlagSpec {
  name: SettingName
  value: string
  description: string
}

export const RUN_FLAGS: FlagSpec[] = [
  {
    name: 'server-url',
    value: 'url',
    description: 'OpenAI-compatible API base URL (default: http://localhost:8080/v1)'
  },
  { name: 'model', value: 'name', description: 'model sent in each request (default: my-model)' },
  {
    name: 'api-key',
    value: 'key',
    description: 'sent as a bearer token; prefer the LLM_BENCH_API_KEY environment variable'
  },
  {
    name: 'dataset',
    value: 'path|url',
    description: 'ShareGPT JSON file or URL (default: the full ShareGPT V3 set, downloaded once)'
  },
  { name: 'dataset-sha256', value: 'hex', description: 'expected SHA-256 of the dataset file' },
  {
    name: 'cache-dir',
    value: 'dir',
    description: 'where downloads and prepared prompts are kept (default: .llm-bench/cache)'
  },
  {
    name: 'n-prompts',
    value: 'n',
    description: 'prompts kept after filtering, in file order (default: 480)'
  },
  { name: 'min-turns', value: 'n', description: 'minimum turns in a conversation (default: 2)' },
  {
    name: 'min-tokens',
    value: 'n',
    description: 'minimum pseudo-tokens of prompt and of answer (default: 4)'
  },
  {
    name: 'max-prompt-tokens',
    value: 'n',
    description: 'maximum pseudo-tokens of a prompt (default: 1024)'
  },
  {
    name: 'max-context',
    value: 'n',
    description: 'maximum pseudo-tokens of prompt + answer (default: 2048)'
  },
  {
    name: 'system-prompt',
    value: 'text',
    description: "system message (default: 'You are ChatGPT, an AI assistant.')"
  },
  { name: 'max-tokens', value: 'n', description: 'max_tokens of each request (default: 512)' },
  {
    name: 'stop',
    value: 'json|lines',
    description:
      'stop strings: JSON array or one per line; \'none\' for none (default: ["<|im_end|>"])'
  },
  {
    name: 'seed',
    value: 'n|none',
    description: "seed sent in each request; 'none' to omit (default: 42)"
  },
  {
    name: 'extra-body',
    value: 'json',
    description: 'JSON object merged over the request body, e.g. {"temperature":0}'
  },
  { name: 'headers', value: 'lines', description: "extra headers, one 'Name: value' per line" },
  {
    name: 'request-timeout',
    value: 'duration',
    description: 'a request running longer fails (default: 10m)'
  },
  {
    name: 'concurrency',
    value: 'n',
    description:
      'virtual users; with --rate, the cap on requests in flight, 0 for none (default: 8)'
  },
  {
    name: 'duration',
    value: 'duration',
    description: 'length of the measured phase, e.g. 90s, 10m (default: 10m)'
  },
  {
    name: 'requests',
    value: 'n',
    description: 'stop after this many measured requests; 0 for no limit (default: 0)'
  },
  {
    name: 'think-time',
    value: 'duration',
    description: "each virtual user's pause after a request (default: 300ms)"
  },
  {
    name: 'rate',
    value: 'rps',
    description: 'open loop: Poisson arrivals at this many requests/s (default: 0, closed loop)'
  },
  {
    name: 'arrival-seed',
    value: 'n',
    description: 'seed of the open-loop arrival times (default: 1)'
  },
  {
    name: 'warmup-requests',
    value: 'n',
    description: 'requests sent before measuring, not counted (default: 0)'
  },
  {
    name: 'ready-timeout',
    value: 'duration',
    description: 'how long to wait for the server to be ready (default: 10m)'
  },
  {
    name: 'grace-period',
    value: 'duration',
    description: 'how long requests in flight may finish after the duration (default: 30s)'
  },
  {
    name: 'abort-truncated-rate',
    value: 'fraction',
    description: 'abort when more completions are truncated (default: 0.8)'
  },
  {
    name: 'abort-error-rate',
    value: 'fraction',
    description: 'abort when more requests fail; 1 never aborts (default: 1)'
  },
  {
    name: 'abort-after',
    value: 'duration',
    description: 'abort thresholds apply after this much measured time (default: 60s)'
  }
]

/** llama.cpp's k6 script reads these; flags win over them. */
export const SEED_ENVIRONMENT: Partial<Record<SettingName, string>> = {
  'server-url': 'SERVER_BENCH_URL',
  'n-prompts': 'SERVER_BENCH_N_PROMPTS',
  model: 'SERVER_BENCH_MODEL_ALIAS',
  dataset: 'SERVER_BENCH_DATASET',
  'max-tokens': 'SERVER_BENCH_MAX_TOKENS',
  'max-prompt-tokens': 'SERVER_BENCH_MAX_PROMPT_TOKENS',
  'max-context': 'SERVER_BENCH_MAX_CONTEXT',
  'api-key': 'LLM_BENCH_API_KEY'
}

/** The k6 script's default dataset file: used when it sits in the working folder. */
export const SEED_DATASET_FILE = './ShareGPT_V3_unfiltered_cleaned_split.json'

/** Flags first, then the seed's environment variables, then the seed's local dataset file. */
export function rawSettingsFrom(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv
): RawSettings {
  const raw: RawSettings = {}
  for (const { name } of RUN_FLAGS) {
    const variable = SEED_ENVIRONMENT[name]
    raw[name] = flags[camelCase(name)] ?? (variable ? env[variable] : undefined)
  }
  if (raw.dataset === undefined && existsSync(SEED_DATASET_FILE)) raw.dataset = SEED_DATASET_FILE
  return raw
}

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase())
}
