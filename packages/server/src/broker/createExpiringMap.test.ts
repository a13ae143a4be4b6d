import { describe, expect, it } from 'vitest'
import { createExpiringMap } from './createExpiringMap'

describe('createExpiringMap', () => {
  it('never returns an expired entry, and removes it when read', () => {
    let clock = 0
    const expiredKeys: string[] = []
    const map = createExpiringMap<string, { expiresAt: number | undefined }>({
      now: () => clock,
      onExpire: (key) => expiredKeys.push(key),
    })
    map.set('a', { expiresAt: 10 })
    map.set('forever', { expiresAt: undefined })
    expect(map.get('a')).toEqual({ expiresAt: 10 })
    clock = 10
    expect(map.get('a')).toBeUndefined()
    expect(map.get('forever')).toEqual({ expiresAt: undefined })
    expect(map.size).toBe(1)
    expect(expiredKeys).toEqual(['a'])
  })

  it('stays within twice its live entries plus minSweepWrites while 20,000 short-lived entries are written', () => {
    let clock = 0
    const map = createExpiringMap<number, { expiresAt: number | undefined }>({
      now: () => clock,
      minSweepWrites: 100,
    })
    for (let i = 0; i < 50; i++) map.set(-i - 1, { expiresAt: undefined })
    let largest = 0
    for (let i = 0; i < 20_000; i++) {
      map.set(i, { expiresAt: clock + 5 })
      clock += 1
      largest = Math.max(largest, map.size)
    }
    expect(largest).toBeLessThanOrEqual(2 * 55 + 100)
    map.sweep()
    expect(map.size).toBe(50 + 4)
  })

  it('drops the oldest entries beyond maxEntries', () => {
    const map = createExpiringMap<number, { expiresAt: number | undefined }>({
      now: () => 0,
      maxEntries: 3,
    })
    for (let i = 0; i < 5; i++) map.set(i, { expiresAt: undefined })
    expect([0, 1, 2, 3, 4].map((k) => map.get(k) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ])
  })
})
