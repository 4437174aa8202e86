/**
 * The load generators. Closed loop (rate = 0), as llama.cpp's k6 script: `concurrency` virtual
 * users each send a request, read it to the end, think, and go again. Open loop (rate > 0):
 * Poisson arrivals from a seeded PRNG, optionally capped in flight. Server trouble never throws:
 * it becomes records with errors, and an abort threshold or the caller's signal ends the run
 * with every record measured so far.
 */
import { performance } from 'node:perf_hooks'
import type { BenchSettings } from '../config/settings.js'
import type { PreparedPrompt } from '../dataset/types.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import type { RunStatus } from '../results/schema.js'
import { poissonArrivals } from './arrivals.js'
import { type InFlight, StreamClient } from './client.js'
import { sampleEventLoopLag } from './lag.js'
import type { RequestRecord } from './record.js'
import { buildRequestBody } from './request-body.js'
import { OutcomeCounts, abortReason } from './thresholds.js'

export interface LoadProgress {
  elapsedMs: number
  sent: number
  done: number
  errors: number
  inFlight: number
  ttftMsAvg: number | null
  decodeRateAvg: number | null
  phase: 'warmup' | 'measured'
}

export interface LoadResult {
  status: RunStatus
  reason: string | null
  requests: RequestRecord[]
  eventLoopLagMs: number[]
  startedAt: Date
  endedAt: Date
  model: string | null
  systemFingerprint: string | null
}

export interface LoadOptions {
  settings: BenchSettings
  prompts: PreparedPrompt[]
  log: Logger
  signal?: AbortSignal
  onProgress?: (p: LoadProgress) => void
  progressIntervalMs?: number
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  validate(options)
  return new LoadRun(options).execute()
}

function validate({ settings, prompts }: LoadOptions): void {
  const load = settings.load
  if (prompts.length === 0) throw new Error('runLoad needs at least one prompt')
  if (!(load.rate >= 0)) throw new Error(`load.rate must be >= 0, got ${load.rate}`)
  if (load.rate === 0 && !(load.concurrency >= 1)) {
    throw new Error(`closed loop needs load.concurrency >= 1, got ${load.concurrency}`)
  }
  if (!(load.durationMs > 0)) throw new Error(`load.durationMs must be > 0, got ${load.durationMs}`)
}

type Phase = 'warmup' | 'measured'

/** Hands out the sends of one phase; virtual users stop when it says there is no more. */
interface Claimer {
  hasMore(): boolean
  take(): boolean
}

class LoadRun {
  private readonly origin = performance.now()
  private readonly startedAt = new Date()
  private readonly settings: BenchSettings
  private readonly client: StreamClient
  private readonly records: RequestRecord[] = []
  private readonly inFlight = new Set<InFlight>()
  /** Sleepers, woken early only when the run stops. */
  private readonly sleepers = new Set<() => void>()
  /** Waiters for a slot, woken at every completed request and at the stop. */
  private readonly waiters = new Set<() => void>()
  private readonly bodies: string[] = []
  private readonly counts = new OutcomeCounts()
  private readonly progress = new ProgressTotals()
  private readonly timers: NodeJS.Timeout[] = []
  private nextId = 0
  private phase: Phase = 'warmup'
  private measuredStart = 0
  private stopped: { status: RunStatus; reason: string | null } | null = null

  constructor(private readonly options: LoadOptions) {
    this.settings = options.settings
    const load = this.settings.load
    const cap = load.concurrency
    this.client = new StreamClient(this.settings.request, {
      origin: this.origin,
      // Never let the pool limit the configured concurrency; an uncapped open loop is unlimited.
      connections: cap > 0 ? cap : null
    })
  }

  async execute(): Promise<LoadResult> {
    const lag = sampleEventLoopLag()
    const { signal } = this.options
    const onAbort = () => this.stop('cancelled', cancelReason(signal?.reason))
    if (signal?.aborted) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    this.startProgress()
    try {
      await this.warmup()
      if (this.stopped === null) await this.measure()
    } finally {
      signal?.removeEventListener('abort', onAbort)
      for (const timer of this.timers) clearTimeout(timer)
      await this.client.close()
    }
    return this.result(lag.stop())
  }

  private result(eventLoopLagMs: number[]): LoadResult {
    const requests = this.records.sort((a, b) => a.id - b.id)
    const withModel = requests.find(r => r.model !== null)
    const withFingerprint = requests.find(r => r.systemFingerprint !== null)
    return {
      status: this.stopped?.status ?? 'completed',
      reason: this.stopped?.reason ?? null,
      requests,
      eventLoopLagMs,
      startedAt: this.startedAt,
      endedAt: new Date(),
      model: withModel?.model ?? null,
      systemFingerprint: withFingerprint?.systemFingerprint ?? null
    }
  }

  private async warmup(): Promise<void> {
    const load = this.settings.load
    if (load.warmupRequests <= 0) return
    this.options.log.info(`warmup: ${load.warmupRequests} requests`)
    const users = Math.max(1, load.concurrency)
    await this.virtualUsers(users, 'warmup', this.claimer(load.warmupRequests))
  }

  private async measure(): Promise<void> {
    const load = this.settings.load
    this.phase = 'measured'
    this.measuredStart = this.now()
    this.progress.reset()
    this.later(load.durationMs, () => this.stop('completed', null))
    this.later(load.abortAfterMs, () => this.checkThresholds())
    const limit = load.requests > 0 ? `, at most ${load.requests} requests` : ''
    if (load.rate > 0) {
      const cap = load.concurrency > 0 ? `, at most ${load.concurrency} in flight` : ''
      this.options.log.info(
        `open loop: ${load.rate} requests/s for ${load.durationMs / 1000} s${cap}${limit}`
      )
      await this.openLoop()
    } else {
      this.options.log.info(
        `closed loop: ${load.concurrency} virtual users for ${load.durationMs / 1000} s${limit}`
      )
      await this.virtualUsers(load.concurrency, 'measured', this.claimer(load.requests))
    }
  }

  /** Hands out `limit` sends (0 = unlimited) until the run stops. */
  private claimer(limit: number): Claimer {
    let taken = 0
    const hasMore = () => this.stopped === null && (limit === 0 || taken < limit)
    return { hasMore, take: () => hasMore() && ++taken > 0 }
  }

  private async virtualUsers(count: number, phase: Phase, claimer: Claimer): Promise<void> {
    const think =
      phase === 'measured' || this.settings.load.rate === 0 ? this.settings.load.thinkTimeMs : 0
    const user = async (vu: number) => {
      while (claimer.take()) {
        await this.send(phase, vu, null)
        if (think > 0 && claimer.hasMore()) await this.sleep(think)
      }
    }
    await Promise.all(Array.from({ length: count }, (_, vu) => user(vu)))
  }

  private async openLoop(): Promise<void> {
    const load = this.settings.load
    const claimer = this.claimer(load.requests)
    const arrivals = poissonArrivals(load.rate, load.arrivalSeed)
    while (claimer.hasMore()) {
      const scheduledAt = this.measuredStart + arrivals.next().value
      // Timers may fire a fraction of a millisecond early: never send before the schedule.
      while (this.stopped === null && this.now() < scheduledAt) {
        await this.sleep(Math.max(1, scheduledAt - this.now()))
      }
      while (
        load.concurrency > 0 &&
        this.inFlight.size >= load.concurrency &&
        this.stopped === null
      ) {
        await this.nextWake()
      }
      if (!claimer.take()) break
      void this.send('measured', null, scheduledAt)
    }
    while (this.inFlight.size > 0) await this.nextWake()
  }

  private async send(phase: Phase, vu: number | null, scheduledAt: number | null): Promise<void> {
    const id = this.nextId++
    const promptIndex = id % this.options.prompts.length
    const request = this.client.send(this.body(promptIndex), {
      id,
      vu,
      promptIndex,
      phase,
      scheduledAt
    })
    this.inFlight.add(request)
    this.progress.sent++
    const record = await request.record
    this.inFlight.delete(request)
    this.records.push(record)
    this.progress.add(record)
    this.counts.add(record)
    if (record.phase === 'measured') this.checkThresholds()
    this.wake(this.waiters)
  }

  /** JSON bodies are built once per prompt, so sending costs no serialisation on the hot path. */
  private body(promptIndex: number): string {
    let body = this.bodies[promptIndex]
    if (body === undefined) {
      const prompt = this.options.prompts[promptIndex].prompt
      body = JSON.stringify(buildRequestBody(this.settings.request, prompt))
      this.bodies[promptIndex] = body
    }
    return body
  }

  private checkThresholds(): void {
    if (this.stopped !== null || this.phase !== 'measured') return
    const reason = abortReason(this.counts, this.settings.load, this.now() - this.measuredStart)
    if (reason === null) return
    this.options.log.warning(`aborting the run: ${reason}`)
    this.stop('aborted', reason)
  }

  /** Stops issuing requests; those in flight get the grace period, then are cut. */
  private stop(status: RunStatus, reason: string | null): void {
    if (this.stopped !== null) return
    this.stopped = { status, reason }
    this.wake(this.sleepers)
    this.wake(this.waiters)
    const graceMs = this.settings.load.graceMs
    if (this.inFlight.size > 0) {
      this.options.log.info(
        `waiting up to ${graceMs / 1000} s for ${plural(this.inFlight.size, 'request')} in flight`
      )
    }
    this.later(graceMs, () => {
      for (const request of this.inFlight) {
        request.cut('cut-by-run-end', `still running ${graceMs / 1000} s after the run ended`)
      }
    })
  }

  private startProgress(): void {
    const { onProgress, progressIntervalMs = 2000 } = this.options
    if (onProgress === undefined) return
    const timer = setInterval(() => onProgress(this.snapshot()), progressIntervalMs)
    timer.unref()
    this.timers.push(timer)
  }

  private snapshot(): LoadProgress {
    const p = this.progress
    return {
      elapsedMs: this.now(),
      sent: p.sent,
      done: p.done,
      errors: p.errors,
      inFlight: this.inFlight.size,
      ttftMsAvg: p.ttftN > 0 ? p.ttftSum / p.ttftN : null,
      decodeRateAvg: p.decodeN > 0 ? p.decodeSum / p.decodeN : null,
      phase: this.phase
    }
  }

  /** Sleeps `ms`, or less when the run stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped !== null || ms <= 0) return Promise.resolve()
    return new Promise(resolve => {
      const done = () => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.sleepers.add(done)
    })
  }

  /** Resolves at the next completed request or stop. */
  private nextWake(): Promise<void> {
    return new Promise(resolve => {
      const done = () => {
        this.waiters.delete(done)
        resolve()
      }
      this.waiters.add(done)
    })
  }

  private wake(set: Set<() => void>): void {
    for (const wake of [...set]) wake()
  }

  private later(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, ms))
  }

  private now(): number {
    return performance.now() - this.origin
  }
}

/** Running totals behind the progress line, so a snapshot costs nothing per record. */
class ProgressTotals {
  sent = 0
  done = 0
  errors = 0
  ttftSum = 0
  ttftN = 0
  decodeSum = 0
  decodeN = 0

  reset(): void {
    Object.assign(this, {
      sent: 0,
      done: 0,
      errors: 0,
      ttftSum: 0,
      ttftN: 0,
      decodeSum: 0,
      decodeN: 0
    })
  }

  add(record: RequestRecord): void {
    this.done++
    if (record.error !== null) {
      this.errors++
      return
    }
    if (record.firstTokenAt !== null) {
      this.ttftSum += record.firstTokenAt - record.sentAt
      this.ttftN++
    }
    const tokens = record.completionTokens ?? record.tokenChunks
    if (record.firstTokenAt !== null && record.lastTokenAt !== null && tokens > 1) {
      const span = record.lastTokenAt - record.firstTokenAt
      if (span > 0) {
        this.decodeSum += ((tokens - 1) / span) * 1000
        this.decodeN++
      }
    }
  }
}

/**
 * Why the run was cancelled. A bare `abort()` (what the CLI and the action do on SIGINT or
 * SIGTERM) carries an AbortError whose text, "This operation was aborted", explains nothing.
 */
function cancelReason(reason: unknown): string {
  // By name: a DOMException from another realm (e.g. a test's) is no `instanceof Error`.
  const bare = reason === undefined || (reason as { name?: unknown } | null)?.name === 'AbortError'
  return bare ? 'cancelled by the user (SIGINT/SIGTERM)' : `cancelled: ${errorMessage(reason)}`
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
