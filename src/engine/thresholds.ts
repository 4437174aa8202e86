/** The seed's abort rules, as pure bookkeeping over measured records. */
import type { LoadSettings } from '../config/settings.js'
import type { RequestRecord } from './record.js'

export class OutcomeCounts {
  /** Measured requests that ended on their own (cut ones are the run's doing, not the server's). */
  finished = 0
  errors = 0
  /** Successful completions, and those of them stopped by max_tokens. */
  completions = 0
  truncated = 0

  add(record: RequestRecord): void {
    if (record.phase !== 'measured' || record.error?.class === 'cut-by-run-end') return
    this.finished++
    if (record.error !== null) this.errors++
    else {
      this.completions++
      if (record.finishReason === 'length') this.truncated++
    }
  }
}

/** The one-line reason to abort, or null. Thresholds of 1 (or more) never trigger. */
export function abortReason(
  counts: OutcomeCounts,
  load: LoadSettings,
  measuredMs: number
): string | null {
  if (measuredMs < load.abortAfterMs) return null
  const after = `after ${formatSeconds(measuredMs)} s of measured time`
  if (load.abortTruncatedRate < 1 && counts.completions > 0) {
    const rate = counts.truncated / counts.completions
    if (rate > load.abortTruncatedRate) {
      return (
        `${percent(rate)} of completions were truncated (finish_reason 'length', ${counts.truncated} of ` +
        `${counts.completions}), above abort-truncated-rate ${percent(load.abortTruncatedRate)} ${after}; ` +
        `raise max-tokens or lower the prompt filters`
      )
    }
  }
  if (load.abortErrorRate < 1 && counts.finished > 0) {
    const rate = counts.errors / counts.finished
    if (rate > load.abortErrorRate) {
      return (
        `${percent(rate)} of requests failed (${counts.errors} of ${counts.finished}), above ` +
        `abort-error-rate ${percent(load.abortErrorRate)} ${after}`
      )
    }
  }
  return null
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`
}

function formatSeconds(ms: number): string {
  return (Math.round(ms / 100) / 10).toString()
}
