/**
 * Event-loop lag of the benchmarking process: a timer that should fire every `intervalMs`
 * records how late it actually fired. High lag means the client, not the server, set the pace.
 */
import { performance } from 'node:perf_hooks'

export interface LagSampler {
  stop(): number[]
}

export function sampleEventLoopLag(intervalMs = 50): LagSampler {
  const samples: number[] = []
  let expected = performance.now() + intervalMs
  const timer = setInterval(() => {
    const now = performance.now()
    samples.push(Math.max(0, now - expected))
    expected = now + intervalMs
  }, intervalMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      return samples
    }
  }
}
