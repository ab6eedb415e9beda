import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../src/backoff.js'

const settings = { initialDelay: 1_000, maxDelay: 30_000, factor: 2, jitter: 1 }

describe('backoffDelay', () => {
  it('grows exponentially up to the cap without jitter', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, { ...settings, jitter: 0 }))
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
  })

  it('draws full jitter from [0, ceiling]', () => {
    expect(backoffDelay(2, settings, () => 0)).toBe(4_000)
    expect(backoffDelay(2, settings, () => 0.5)).toBe(2_000)
    expect(backoffDelay(2, settings, () => 0.999999)).toBeCloseTo(0.004, 3)
  })

  it('keeps partial jitter within [ceiling * (1 - jitter), ceiling]', () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelay(3, { ...settings, jitter: 0.25 })
      expect(delay).toBeGreaterThanOrEqual(6_000)
      expect(delay).toBeLessThanOrEqual(8_000)
    }
  })
})
