import { describe, expect, it } from '@jest/globals'

describe('toolchain', () => {
  it('runs the tests on Node 24, the runtime the action uses', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24)
  })
})
