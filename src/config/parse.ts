/**
 * The one gateway from raw text (action inputs, CLI flags, environment variables) to typed,
 * validated settings. Every bad value fails at once with a message that names the input,
 * the value and the rule. Keys are the user-facing kebab-case names shared by the action's
 * inputs and the CLI's flags.
 */
import { invalidInput } from '../errors.js'
import { DEFAULT_SETTINGS, type BenchSettings } from './settings.js'

export type RawSettings = Partial<Record<SettingName, string | undefined>>

export const SETTING_NAMES = [
  'server-url',
  'model',
  'api-key',
  'dataset',
  'dataset-sha256',
  'cache-dir',
  'n-prompts',
  'min-turns',
  'min-tokens',
  'max-prompt-tokens',
  'max-context',
  'system-prompt',
  'max-tokens',
  'stop',
  'seed',
  'extra-body',
  'headers',
  'request-timeout',
  'concurrency',
  'duration',
  'requests',
  'think-time',
  'rate',
  'arrival-seed',
  'warmup-requests',
  'ready-timeout',
  'grace-period',
  'abort-truncated-rate',
  'abort-error-rate',
  'abort-after'
] as const

export type SettingName = (typeof SETTING_NAMES)[number]

/** Node's timers stop at 2^31 − 1 ms (24.8 days); a day is more than any benchmark needs. */
const MAX_DURATION_MS = 24 * 3_600_000
/** Each virtual user holds a socket: beyond this the client runs out of them, not the server. */
const MAX_CONCURRENCY = 10_000
/** Below this the gaps between arrivals are longer than a timer can wait. */
const MIN_RATE = 0.001

/**
 * Body fields the benchmark itself sets: overriding them through `extra-body` would break the
 * measurement (`stream`) or leave the reports showing another value than was sent.
 */
const BODY_FIELDS_OWNED: Record<string, string> = {
  stream: 'the benchmark always streams',
  messages: "the prompts come from 'dataset'",
  model: "set it with 'model'",
  max_tokens: "set it with 'max-tokens'",
  seed: "set it with 'seed'",
  stop: "set it with 'stop'"
}

/** Turns raw strings into settings; absent or empty values take the defaults. */
export function parseSettings(
  raw: RawSettings,
  defaults: BenchSettings = DEFAULT_SETTINGS
): BenchSettings {
  const read = new RawReader(raw)
  const d = defaults
  return {
    dataset: {
      source: read.text('dataset') ?? d.dataset.source,
      sha256: read.sha256('dataset-sha256') ?? d.dataset.sha256,
      cacheDir: read.text('cache-dir') ?? d.dataset.cacheDir,
      nPrompts: read.integer('n-prompts', 1) ?? d.dataset.nPrompts,
      minTurns: read.integer('min-turns', 2) ?? d.dataset.minTurns,
      minTokens: read.integer('min-tokens', 0) ?? d.dataset.minTokens,
      maxPromptTokens: read.integer('max-prompt-tokens', 1) ?? d.dataset.maxPromptTokens,
      maxContext: read.integer('max-context', 2) ?? d.dataset.maxContext
    },
    request: {
      serverUrl: read.url('server-url') ?? d.request.serverUrl,
      model: read.text('model') ?? d.request.model,
      apiKey: read.text('api-key') ?? d.request.apiKey,
      systemPrompt: read.text('system-prompt', { keepEmpty: true }) ?? d.request.systemPrompt,
      maxTokens: read.integer('max-tokens', 1) ?? d.request.maxTokens,
      stop: read.stop('stop') ?? d.request.stop,
      // `none` reads as null, which `??` would replace with the default.
      seed: orDefault(read.seed('seed'), d.request.seed),
      extraBody: read.jsonObject('extra-body') ?? d.request.extraBody,
      headers: read.headers('headers') ?? d.request.headers,
      requestTimeoutMs: read.duration('request-timeout', 1) ?? d.request.requestTimeoutMs
    },
    load: {
      concurrency: read.integer('concurrency', 0, MAX_CONCURRENCY) ?? d.load.concurrency,
      durationMs: read.duration('duration', 1) ?? d.load.durationMs,
      requests: read.integer('requests', 0) ?? d.load.requests,
      thinkTimeMs: read.duration('think-time', 0) ?? d.load.thinkTimeMs,
      rate: read.rate('rate') ?? d.load.rate,
      arrivalSeed: read.integer('arrival-seed', 0) ?? d.load.arrivalSeed,
      warmupRequests: read.integer('warmup-requests', 0) ?? d.load.warmupRequests,
      readyTimeoutMs: read.duration('ready-timeout', 0) ?? d.load.readyTimeoutMs,
      graceMs: read.duration('grace-period', 0) ?? d.load.graceMs,
      abortTruncatedRate: read.fraction('abort-truncated-rate') ?? d.load.abortTruncatedRate,
      abortErrorRate: read.fraction('abort-error-rate') ?? d.load.abortErrorRate,
      abortAfterMs: read.duration('abort-after', 0) ?? d.load.abortAfterMs
    }
  }
}

function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value
}

/** Cross-field rules that no single value can check. */
export function checkSettings(settings: BenchSettings): BenchSettings {
  const { dataset, load } = settings
  if (dataset.maxPromptTokens > dataset.maxContext) {
    throw invalidInput(
      'max-prompt-tokens',
      dataset.maxPromptTokens,
      `at most 'max-context' (${dataset.maxContext})`
    )
  }
  if (load.rate === 0 && load.concurrency === 0) {
    throw invalidInput('concurrency', 0, 'at least 1 in a closed-loop run (when rate is 0)')
  }
  return settings
}

/** `90`, `90s`, `1500ms`, `10m`, `1h`, `1m30s`: a bare number means seconds. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map(p => p[0]).join('') !== trimmed) return null
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  return parts.reduce((total, [, value, unit]) => total + Number(value) * unitMs[unit], 0)
}

class RawReader {
  constructor(private readonly raw: RawSettings) {}

  text(name: SettingName, options: { keepEmpty?: boolean } = {}): string | undefined {
    const value = this.raw[name]
    if (value === undefined) return undefined
    if (value.trim() === '' && !options.keepEmpty) return undefined
    return options.keepEmpty ? value : value.trim()
  }

  integer(name: SettingName, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const parsed = Number(value)
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
      throw invalidInput(name, value, `a whole number ${range}`)
    }
    return parsed
  }

  /** 0 for a closed loop; otherwise a rate whose gaps a timer can wait for. */
  rate(name: SettingName): number | undefined {
    const value = this.number(name, 0)
    if (value === undefined || value === 0 || value >= MIN_RATE) return value
    throw invalidInput(name, value, `0 (closed loop) or at least ${MIN_RATE} requests/s`)
  }

  number(name: SettingName, min: number): number | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const parsed = Number(value)
    if (!Number.isFinite(parsed) || parsed < min) {
      throw invalidInput(name, value, `a number of at least ${min}`)
    }
    return parsed
  }

  fraction(name: SettingName): number | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const parsed = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value)
    if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
      throw invalidInput(name, value, 'a fraction from 0 to 1 (or a percentage such as 80%)')
    }
    return parsed
  }

  duration(name: SettingName, minMs: number): number | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const parsed = parseDuration(value)
    if (parsed === null || parsed < minMs || parsed > MAX_DURATION_MS) {
      const rule = minMs > 0 ? 'a positive duration' : 'a duration'
      throw invalidInput(name, value, `${rule} of at most 24h, such as 90s, 10m, 1500ms or 1m30s`)
    }
    return parsed
  }

  url(name: SettingName): string | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      throw invalidInput(name, value, 'an http(s) URL such as http://localhost:8080/v1')
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw invalidInput(name, value, 'an http(s) URL such as http://localhost:8080/v1')
    }
    return value.replace(/\/+$/, '')
  }

  sha256(name: SettingName): string | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    if (!/^[0-9a-fA-F]{64}$/.test(value)) {
      throw invalidInput(name, value, 'a SHA-256 digest of 64 hexadecimal characters')
    }
    return value.toLowerCase()
  }

  seed(name: SettingName): number | null | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    if (value === 'none') return null
    return this.integer(name, 0)
  }

  /** A JSON array of strings, or one stop string per line; `none` for no stop strings. */
  stop(name: SettingName): string[] | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    if (value === 'none') return []
    if (!value.startsWith('['))
      return value
        .split('\n')
        .map(line => line.trim())
        .filter(Boolean)
    const parsed = parseJson(name, value)
    if (!Array.isArray(parsed) || !parsed.every(item => typeof item === 'string')) {
      throw invalidInput(name, value, 'a JSON array of strings, or one stop string per line')
    }
    return parsed
  }

  jsonObject(name: SettingName): Record<string, unknown> | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const parsed = parseJson(name, value)
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalidInput(name, value, 'a JSON object such as {"temperature": 0}')
    }
    const owned = Object.keys(parsed).find(key => key in BODY_FIELDS_OWNED)
    if (owned) {
      const rule = `a JSON object without '${owned}' (${BODY_FIELDS_OWNED[owned]})`
      throw invalidInput(name, value, rule)
    }
    return parsed as Record<string, unknown>
  }

  /** One `Name: value` per line. Values may be secret, so messages show only the name. */
  headers(name: SettingName): Record<string, string> | undefined {
    const value = this.text(name)
    if (value === undefined) return undefined
    const headers: Record<string, string> = {}
    for (const line of value
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean)) {
      const colon = line.indexOf(':')
      const header = colon > 0 ? line.slice(0, colon).trim() : ''
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
        const shown = colon > 0 ? `${line.slice(0, colon)}: ***` : '(a line without a colon)'
        throw invalidInput(name, shown, "one 'Header-Name: value' per line")
      }
      headers[header] = line.slice(colon + 1).trim()
    }
    return headers
  }
}

function parseJson(name: SettingName, value: string): unknown {
  try {
    return JSON.parse(value)
  } catch (error) {
    throw invalidInput(name, value, `valid JSON (${(error as Error).message})`)
  }
}
