/** The server's clock-bound parts: slots with a FIFO queue, and the pacing of simulated time. */
import { setTimeout as sleep } from 'node:timers/promises'

interface Waiter {
  grant: () => void
  signal: AbortSignal
  onAbort: () => void
}

/** A fixed number of slots; requests beyond them wait in arrival order. */
export class SlotScheduler {
  private readonly queue: Waiter[] = []
  active = 0
  maxActive = 0
  maxQueued = 0

  constructor(private readonly slots: number) {}

  get queued(): number {
    return this.queue.length
  }

  /** Resolves `true` with a slot held, or `false` when `signal` aborted first (no slot held). */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false)
    if (this.active < this.slots && this.queue.length === 0) {
      this.take()
      return Promise.resolve(true)
    }
    return new Promise(resolve => {
      const waiter: Waiter = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort)
          this.take()
          resolve(true)
        },
        onAbort: () => {
          this.queue.splice(this.queue.indexOf(waiter), 1)
          resolve(false)
        }
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
      this.queue.push(waiter)
      this.maxQueued = Math.max(this.maxQueued, this.queue.length)
    })
  }

  release(): void {
    this.active--
    const next = this.queue.shift()
    if (next) next.grant()
  }

  private take(): void {
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
  }
}

/** Timers fire on whole milliseconds at best; shorter waits are owed and paid together. */
const MIN_SLEEP_MS = 1

/**
 * Turns simulated durations into real waits for one sequence. It keeps an absolute real-time
 * deadline, so timer granularity and lateness never accumulate: waits under a millisecond are
 * carried over, and a late timer is made up by the next steps. Events are thus sent at their
 * accumulated times, several at once when they fall within the same millisecond.
 */
export class Pacer {
  private deadline: number

  constructor(
    private readonly timeScale: number,
    private readonly now: () => number = () => performance.now()
  ) {
    this.deadline = now()
  }

  /** Waits until `simMs` more simulated time has passed; rejects when `signal` aborts. */
  async advance(simMs: number, signal: AbortSignal): Promise<void> {
    this.deadline += simMs / this.timeScale
    const wait = this.deadline - this.now()
    if (wait >= MIN_SLEEP_MS) await sleep(wait, undefined, { signal })
    else if (signal.aborted) throw signal.reason
  }
}
