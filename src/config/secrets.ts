/**
 * What of the settings must never be shown, and the scrubbing that keeps it out of logs, results
 * and reports. A server or a dataset host controls its error text and may echo a key or a URL
 * back, so hiding the fields we print is not enough: every foreign string is scrubbed too.
 */
import type { Logger } from '../log.js'
import { redactUrl } from '../report/escape.js'
import type { BenchSettings } from './settings.js'

export { redactUrl }

export const SECRET_MARK = '***'

/** Shorter values are left alone: scrubbing `v1` or `en` would garble ordinary text. */
export const MIN_SECRET_LENGTH = 4

/**
 * Every value of the settings that is or may be a credential: the API key, each header value
 * (and the credential after an auth scheme, `Bearer <token>`), and the userinfo and query values
 * of the server and dataset URLs, both as written and percent-decoded. A username is a secret
 * only when it stands alone (`https://<token>@host`, a common way to pass a token); next to a
 * password it names an account, and scrubbing a common word like `user` would garble text.
 * Longest first, so a secret that contains another is replaced whole.
 */
export function secretsOf(settings: BenchSettings): string[] {
  const { request, dataset } = settings
  const values = [
    request.apiKey ?? '',
    ...Object.values(request.headers).flatMap(headerSecrets),
    ...secretsOfUrl(request.serverUrl),
    ...secretsOfUrl(dataset.source)
  ]
  return longestFirst(values)
}

function longestFirst(values: string[]): string[] {
  const kept = values.filter(value => value.length >= MIN_SECRET_LENGTH)
  return [...new Set(kept)].sort((a, b) => b.length - a.length)
}

function headerSecrets(value: string): string[] {
  const trimmed = value.trim()
  const credential = /^[A-Za-z-]+\s+(\S+)$/.exec(trimmed)?.[1]
  return credential ? [trimmed, credential] : [trimmed]
}

/** The userinfo and query values of a URL (see `secretsOf`); none for text that is no URL. */
export function secretsOfUrl(text: string): string[] {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return []
  }
  const userinfo = url.password ? [url.password] : [url.username]
  // URLSearchParams decodes; the raw `name=value` pairs keep the form a log line may show.
  const rawQuery = url.search
    .slice(1)
    .split('&')
    .filter(pair => pair.includes('='))
    .map(pair => pair.slice(pair.indexOf('=') + 1))
  const query = [...url.searchParams.values()]
  return longestFirst([...userinfo.flatMap(withDecoded), ...rawQuery, ...query])
}

function withDecoded(value: string): string[] {
  try {
    return [value, decodeURIComponent(value)]
  } catch {
    return [value]
  }
}

/** `text` with every occurrence of each secret replaced by `***`. */
export function scrubText(text: string, secrets: readonly string[]): string {
  let scrubbed = text
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) scrubbed = scrubbed.split(secret).join(SECRET_MARK)
  }
  return scrubbed
}

/**
 * A copy of `value` with every string scrubbed, at any depth. Numbers, booleans and keys stay:
 * a secret of digits must not turn a count into text.
 */
export function scrubDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value
  return walk(value, secrets) as T
}

function walk(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubText(value, secrets)
  if (Array.isArray(value)) return value.map(item => walk(item, secrets))
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    return Object.fromEntries(entries.map(([key, item]) => [key, walk(item, secrets)]))
  }
  return value
}

/** A logger that scrubs every message and group title before passing it on. */
export function scrubbingLogger(log: Logger, secrets: readonly string[]): Logger {
  if (secrets.length === 0) return log
  const scrub = (text: string) => scrubText(text, secrets)
  return {
    info: message => log.info(scrub(message)),
    debug: message => log.debug(scrub(message)),
    warning: message => log.warning(scrub(message)),
    group: (title, fn) => log.group(scrub(title), fn)
  }
}
