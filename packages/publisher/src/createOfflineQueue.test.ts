import { RedisseError } from '@redisse/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createOfflineQueue } from './createOfflineQueue'

const full = () => new RedisseError('broker-unavailable', 'full')
const timedOut = () => new RedisseError('publish-timeout', 'timed out')

describe('createOfflineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets waiters through in order on release', async () => {
    const queue = createOfflineQueue({ max: 10, full })
    const order: number[] = []
    const all = [1, 2, 3].map((n) => queue.wait(n, 1000, timedOut).then(() => order.push(n)))
    expect(queue.size).toBe(3)
    queue.release()
    await Promise.all(all)
    expect(order).toEqual([1, 2, 3])
    expect(queue.size).toBe(0)
  })

  it('lets waiters through by rank, whatever their arrival order', async () => {
    const queue = createOfflineQueue({ max: 10, full })
    const order: number[] = []
    const all = [3, 1, 2].map((n) => queue.wait(n, 1000, timedOut).then(() => order.push(n)))
    queue.release()
    await Promise.all(all)
    expect(order).toEqual([1, 2, 3])
  })

  it('rejects a waiter after its timeout and forgets it', async () => {
    const queue = createOfflineQueue({ max: 10, full })
    const first = queue.wait(0, 100, timedOut)
    const second = queue.wait(1, 300, timedOut)
    const firstFailed = expect(first).rejects.toMatchObject({ code: 'publish-timeout' })
    await vi.advanceTimersByTimeAsync(100)
    await firstFailed
    expect(queue.size).toBe(1)
    queue.release()
    await expect(second).resolves.toBeUndefined()
  })

  it('refuses at once beyond max, and frees the slot of a waiter that left', async () => {
    const queue = createOfflineQueue({ max: 1, full })
    const waiting = queue.wait(0, 100, timedOut).catch((err: RedisseError) => err.code)
    await expect(queue.wait(0, 100, timedOut)).rejects.toMatchObject({ code: 'broker-unavailable' })
    await vi.advanceTimersByTimeAsync(100)
    expect(await waiting).toBe('publish-timeout')
    const next = queue.wait(0, 100, timedOut)
    queue.release()
    await expect(next).resolves.toBeUndefined()
  })

  it('refuses everything with max 0', async () => {
    const queue = createOfflineQueue({ max: 0, full })
    await expect(queue.wait(0, 100, timedOut)).rejects.toMatchObject({ code: 'broker-unavailable' })
  })

  it('rejects every waiter with rejectAll, and clears their timers', async () => {
    const queue = createOfflineQueue({ max: 10, full })
    const waits = [queue.wait(0, 100, timedOut), queue.wait(0, 100, timedOut)]
    queue.rejectAll(new RedisseError('closed', 'closed'))
    for (const wait of waits) await expect(wait).rejects.toMatchObject({ code: 'closed' })
    expect(vi.getTimerCount()).toBe(0)
  })
})
