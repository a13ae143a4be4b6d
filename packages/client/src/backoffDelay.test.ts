import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoffDelay'

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt from the base, up to the cap', () => {
    const top = () => 1
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 100, 1000, top))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ])
  })

  it('draws the delay uniformly below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0)
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(200)
  })
})
