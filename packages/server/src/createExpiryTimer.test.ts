import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createExpiryTimer } from './createExpiryTimer'

describe('createExpiryTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires items at their deadlines, in deadline order, with one timer for all', () => {
    const expired: string[] = []
    const timer = createExpiryTimer<string>({ onExpire: (item) => expired.push(item) })
    const start = Date.now()
    timer.add('c', start + 300)
    timer.add('a', start + 100)
    timer.add('b', start + 200)
    timer.add('d', start + 200)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(99)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['a'])
    vi.advanceTimersByTime(100)
    expect(expired.slice(1).sort()).toEqual(['b', 'd'])
    vi.advanceTimersByTime(100)
    expect(expired.at(-1)).toBe('c')
    expect(timer.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never calls back for a deleted item, and moves an item added again', () => {
    const expired: number[] = []
    const timer = createExpiryTimer<number>({ onExpire: (item) => expired.push(item) })
    const start = Date.now()
    for (let i = 0; i < 1000; i++) timer.add(i, start + 1 + ((i * 7919) % 1000))
    for (let i = 0; i < 1000; i += 2) expect(timer.delete(i)).toBe(true)
    expect(timer.delete(0)).toBe(false)
    timer.add(1, start + 5000)
    vi.advanceTimersByTime(1001)
    expect(expired).toHaveLength(499)
    expect(expired.every((i) => i % 2 === 1 && i !== 1)).toBe(true)
    // Deadline order, as scheduled.
    const deadlines = expired.map((i) => (i * 7919) % 1000)
    expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y))
    vi.advanceTimersByTime(4000)
    expect(expired.at(-1)).toBe(1)
    expect(timer.size).toBe(0)
  })

  it('expires at once an item whose deadline has passed, and survives a throwing callback', () => {
    const expired: string[] = []
    const timer = createExpiryTimer<string>({
      onExpire: (item) => {
        expired.push(item)
        if (item === 'boom') throw new Error('callback failed')
      },
    })
    timer.add('boom', Date.now() - 10)
    timer.add('next', Date.now() - 5)
    vi.advanceTimersByTime(0)
    expect(expired).toEqual(['boom', 'next'])
  })

  it('re-arms deadlines beyond the longest Node timer delay', () => {
    const expired: string[] = []
    const timer = createExpiryTimer<string>({ onExpire: (item) => expired.push(item) })
    const days40 = 40 * 86_400_000
    timer.add('far', Date.now() + days40)
    vi.advanceTimersByTime(days40 - 1)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['far'])
  })
})
