/** Open-loop arrival times: a Poisson process from a seeded PRNG, so a run can be repeated. */
import { mulberry32 } from '../random.js'

/** Arrival offsets in ms from the start of the measured phase, at `rate` requests per second. */
export function* poissonArrivals(rate: number, seed: number): Generator<number, never> {
  if (!(rate > 0)) throw new Error(`arrival rate must be > 0, got ${rate}`)
  const random = mulberry32(seed)
  let at = 0
  for (;;) {
    // Exponential gaps; 1 - u keeps the logarithm finite (u is in [0, 1)).
    at += (-Math.log(1 - random()) / rate) * 1000
    yield at
  }
}

/** The first `count` arrival offsets, ms. */
export function arrivalSchedule(rate: number, seed: number, count: number): number[] {
  const arrivals = poissonArrivals(rate, seed)
  return Array.from({ length: count }, () => arrivals.next().value)
}
