import { createHash } from 'node:crypto'
import type { BenchSettings } from '../config/settings.js'

export interface SettingsFingerprint {
  /** First 16 hex characters of the SHA-256 of the canonical JSON of `fields`. */
  hash: string
  /** The settings that make two runs comparable, by their user-facing input names. */
  fields: Record<string, unknown>
}

/**
 * What makes two runs comparable: the model, the prompts (the dataset's SHA-256, or its source
 * when unknown, and every filter), the token limit, the load shape and the request body.
 * Left out on purpose: where the server is and how we reach it (URL, API key, headers), timeouts,
 * readiness, cache directories and abort thresholds, which change neither the prompts nor the
 * load the server sees. Durations are in ms.
 */
export function settingsFingerprint(
  settings: BenchSettings,
  datasetSha256: string | null
): SettingsFingerprint {
  const { dataset, request, load } = settings
  const sha = datasetSha256 ?? dataset.sha256 ?? null
  const fields: Record<string, unknown> = {
    model: request.model,
    dataset: sha ? `sha256:${sha.toLowerCase()}` : dataset.source,
    'n-prompts': dataset.nPrompts,
    'min-turns': dataset.minTurns,
    'min-tokens': dataset.minTokens,
    'max-prompt-tokens': dataset.maxPromptTokens,
    'max-context': dataset.maxContext,
    'max-tokens': request.maxTokens,
    concurrency: load.concurrency,
    duration: load.durationMs,
    requests: load.requests,
    'think-time': load.thinkTimeMs,
    rate: load.rate,
    'arrival-seed': load.arrivalSeed,
    'warmup-requests': load.warmupRequests,
    'system-prompt': request.systemPrompt,
    stop: request.stop,
    seed: request.seed,
    'extra-body': canonicalize(request.extraBody)
  }
  return { hash: fingerprintHash(fields), fields }
}

export function fingerprintHash(fields: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(fields)).digest('hex').slice(0, 16)
}

/** JSON with object keys sorted at every depth, so that key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value))
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize)
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return Object.fromEntries(entries.map(([key, item]) => [key, canonicalize(item)]))
  }
  return value
}

/** Long values (a system prompt) are cut so a difference stays one readable line. */
const MAX_SHOWN_CHARS = 60

function shown(value: unknown): string {
  if (value === undefined) return '(not set)'
  const text = typeof value === 'number' ? String(value) : canonicalJson(value)
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text
}

/** One line per field that differs, `"max-tokens: 512 → 256"`, in the order of `a` then `b`. */
export function fingerprintDifferences(
  a: Record<string, unknown>,
  b: Record<string, unknown>
): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return keys
    .filter(key => canonicalJson(a[key] ?? null) !== canonicalJson(b[key] ?? null))
    .map(key => `${key}: ${shown(a[key])} → ${shown(b[key])}`)
}
