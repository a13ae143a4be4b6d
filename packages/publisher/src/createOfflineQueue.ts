import type { RedisseError } from '@redisse/protocol'

interface Waiter {
  rank: number
  resolve: () => void
  reject: (err: RedisseError) => void
  timer: ReturnType<typeof setTimeout>
}

/** A bounded queue of operations waiting for the connection to come back. */
export interface OfflineQueue {
  /** How many operations wait now. */
  readonly size: number
  /**
   * Waits for {@link OfflineQueue.release}: at most `timeout` ms, then rejects
   * with `publish-timeout` and leaves the queue, so the caller never sends
   * after being told it failed. Rejects at once with `broker-unavailable`
   * when `max` operations already wait.
   * @param rank - release order, lowest first (the caller's ticket, so one
   *   that waits a second time keeps its place)
   * @param onTimeout - builds the error, so it can carry the last connection error as cause
   */
  wait(rank: number, timeout: number, onTimeout: () => RedisseError): Promise<void>
  /** Lets every waiter through, lowest rank first. */
  release(): void
  /** Rejects every waiter with `err`. */
  rejectAll(err: RedisseError): void
}

/**
 * Creates the queue that replaces ioredis' unbounded offline queue: memory
 * stays bounded by `max` waiters, and each waits a bounded time.
 */
export function createOfflineQueue(options: {
  max: number
  full: () => RedisseError
}): OfflineQueue {
  // A Set keeps arrival order and removes a timed-out waiter in O(1).
  const waiters = new Set<Waiter>()
  return {
    get size() {
      return waiters.size
    },
    wait(rank, timeout, onTimeout) {
      if (waiters.size >= options.max) return Promise.reject(options.full())
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          rank,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter)
            reject(onTimeout())
          }, timeout),
        }
        waiters.add(waiter)
      })
    },
    release() {
      const all = [...waiters].sort((a, b) => a.rank - b.rank)
      waiters.clear()
      for (const waiter of all) {
        clearTimeout(waiter.timer)
        waiter.resolve()
      }
    },
    rejectAll(err) {
      const all = [...waiters]
      waiters.clear()
      for (const waiter of all) {
        clearTimeout(waiter.timer)
        waiter.reject(err)
      }
    },
  }
}
