/** Open-loop arrival times: a Poisson process from a seeded PRNG, so a run can be repeated. */

/** mulberry32: small, fast and good enough for arrival jitter; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Arrival offsets in ms from the start of the measured phase, at `rate` requests per second. */
export function* poissonArrivals(rate: number, seed: number): Generator<number, never> {
  if (!(rate > 0)) throw new Error(`arrival rate must be > 0, got ${rate}`)
  const random = seededRandom(seed)
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
