import { describe, expect, it } from '@jest/globals'

import { Pacer, SlotScheduler } from '../../src/sim/scheduler.js'

describe('slots', () => {
  it('grants waiting requests in arrival order as slots free up', async () => {
    const scheduler = new SlotScheduler(1)
    const never = new AbortController().signal
    const order: string[] = []
    expect(await scheduler.acquire(never)).toBe(true)
    const waiting = ['a', 'b', 'c'].map(name =>
      scheduler.acquire(never).then(() => {
        order.push(name)
        scheduler.release()
      })
    )
    expect(scheduler.queued).toBe(3)
    scheduler.release()
    await Promise.all(waiting)
    expect(order).toEqual(['a', 'b', 'c'])
    expect(scheduler).toMatchObject({ active: 0, maxActive: 1, maxQueued: 3 })
  })

  it('drops an aborted waiter without giving it a slot', async () => {
    const scheduler = new SlotScheduler(1)
    const never = new AbortController().signal
    const gone = new AbortController()
    await scheduler.acquire(never)
    const dropped = scheduler.acquire(gone.signal)
    const next = scheduler.acquire(never)
    gone.abort()
    expect(await dropped).toBe(false)
    expect(scheduler.queued).toBe(1)
    scheduler.release()
    expect(await next).toBe(true)
    expect(scheduler.active).toBe(1)
  })
})

describe('pacing', () => {
  it.each([
    { steps: 200, stepMs: 0.25, timeScale: 1 },
    { steps: 100, stepMs: 15, timeScale: 30 },
    { steps: 20, stepMs: 3, timeScale: 1 }
  ])(
    'takes about $steps x $stepMs ms / $timeScale in total, sub-millisecond steps included',
    async ({ steps, stepMs, timeScale }) => {
      const pacer = new Pacer(timeScale)
      const signal = new AbortController().signal
      const started = performance.now()
      for (let i = 0; i < steps; i++) await pacer.advance(stepMs, signal)
      const expected = (steps * stepMs) / timeScale
      const elapsed = performance.now() - started
      expect(elapsed).toBeGreaterThan(expected * 0.9)
      expect(elapsed).toBeLessThan(expected * 2 + 20)
    }
  )

  it('stops waiting when aborted', async () => {
    const pacer = new Pacer(1)
    const controller = new AbortController()
    const started = performance.now()
    const waiting = pacer.advance(10_000, controller.signal)
    setTimeout(() => controller.abort(), 5)
    await expect(waiting).rejects.toThrow()
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
