/**
 * Waits for the server to be ready: a llama-server answers 503 "Loading model" while it loads,
 * and nothing at all before it listens. Polls `GET {base}/models`, then the root `/health`.
 */
import { endpointUrl } from './endpoint.js'
import { setTimeout as delay } from 'node:timers/promises'
import { Agent, request as httpRequest } from 'undici'
import type { RequestSettings } from '../config/settings.js'
import { UserError } from '../errors.js'
import type { Logger } from '../log.js'
import type { ServerFacts } from '../results/schema.js'
import { requestHeaders } from './client.js'
import { excerpt, serverMessage } from './stream-state.js'

const POLL_MS = 500
const LOG_EVERY_MS = 5_000
const ATTEMPT_TIMEOUT_MS = 10_000
/** Shortest probe: near the deadline a last probe still gets a fair chance to connect. */
const MIN_ATTEMPT_MS = 100

/** When the wait ends, and the caller's cancel signal. */
interface Wait {
  deadline: number
  signal?: AbortSignal
}

type Probe =
  | { ready: true; models: string[]; software: string | null }
  | { ready: false; seen: string; auth?: boolean; missing?: boolean }

export async function waitForServer(
  request: RequestSettings,
  timeoutMs: number,
  log: Logger,
  signal?: AbortSignal
): Promise<ServerFacts> {
  const base = request.serverUrl.replace(/\/+$/, '')
  const shown = displayUrl(base)
  const agent = new Agent({
    connections: 1,
    headersTimeout: ATTEMPT_TIMEOUT_MS,
    bodyTimeout: ATTEMPT_TIMEOUT_MS
  })
  const started = Date.now()
  const wait: Wait = { deadline: started + timeoutMs, signal }
  let lastLog = started
  let seen = 'nothing yet'
  try {
    for (;;) {
      const probe = await probeServer(agent, request, base, wait)
      // Checked after the probe, which a cancel cuts short: its outcome says nothing.
      if (signal?.aborted) throw new UserError(`cancelled while waiting for ${shown} (${seen})`)
      if (probe.ready)
        return {
          url: shown,
          models: probe.models,
          model: null,
          systemFingerprint: null,
          software: probe.software
        }
      if (probe.auth) {
        throw new UserError(
          `${shown} refused the API key (${probe.seen}); check the api-key setting (the key is not shown)`
        )
      }
      seen = probe.seen
      const elapsed = Date.now() - started
      if (elapsed >= timeoutMs) {
        throw new UserError(
          `${shown} was not ready within ${seconds(timeoutMs)} s; last seen: ${seen}`
        )
      }
      if (Date.now() - lastLog >= LOG_EVERY_MS) {
        lastLog = Date.now()
        log.info(`waiting for ${shown} (${seen}), ${seconds(elapsed)} s of ${seconds(timeoutMs)} s`)
      }
      await delay(Math.min(POLL_MS, timeoutMs - elapsed), undefined, { signal }).catch(
        () => undefined
      )
    }
  } finally {
    await agent.close()
  }
}

async function probeServer(
  agent: Agent,
  request: RequestSettings,
  base: string,
  wait: Wait
): Promise<Probe> {
  const models = await probe(agent, request, endpointUrl(base, 'models').href, wait)
  if (models.ready || !models.missing) return models
  // No /models route: fall back to llama-server's root /health.
  const health = await probe(agent, request, new URL('/health', base).href, wait)
  return health.ready || !health.missing ? health : models
}

/**
 * A probe may not outlast the wait (a server that never answers must not stretch it) and ends
 * when the caller cancels.
 */
function attemptSignal(wait: Wait): AbortSignal {
  const ms = Math.min(ATTEMPT_TIMEOUT_MS, Math.max(MIN_ATTEMPT_MS, wait.deadline - Date.now()))
  const timeout = AbortSignal.timeout(ms)
  return wait.signal === undefined ? timeout : AbortSignal.any([timeout, wait.signal])
}

async function probe(
  agent: Agent,
  request: RequestSettings,
  url: string,
  wait: Wait
): Promise<Probe> {
  let response
  try {
    response = await httpRequest(url, {
      method: 'GET',
      dispatcher: agent,
      headers: { ...requestHeaders(request), accept: 'application/json' },
      signal: attemptSignal(wait)
    })
  } catch (error) {
    return { ready: false, seen: connectionProblem(error) }
  }
  const text = await response.body.text().catch(() => '')
  const status = response.statusCode
  const software = headerValue(response.headers.server)
  if (status >= 200 && status < 300) return { ready: true, models: modelIds(text), software }
  const seen = `HTTP ${status}${text ? `: ${excerpt(serverMessage(text))}` : ''}`
  if (status === 401 || status === 403) return { ready: false, seen, auth: true }
  return { ready: false, seen, missing: status === 404 || status === 405 }
}

function modelIds(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as { data?: { id?: unknown }[] }
    if (!Array.isArray(parsed.data)) return []
    return parsed.data.flatMap(model => (typeof model?.id === 'string' ? [model.id] : []))
  } catch {
    return []
  }
}

function connectionProblem(error: unknown): string {
  const err = error as { code?: string; cause?: { code?: string }; name?: string; message?: string }
  const code = err.cause?.code ?? err.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
  if (err.name === 'TimeoutError' || code?.includes('TIMEOUT')) return 'no answer'
  return code ?? err.message ?? String(error)
}

function headerValue(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null
}

/** The URL without credentials, for logs and results. */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    return parsed.href.replace(/\/+$/, '')
  } catch {
    return url
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000)
}
