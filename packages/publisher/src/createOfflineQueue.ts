import { RedisseError } from '@redisse/protocol'

interface Waiter {
  resolve: () => void
  reject: (err: RedisseError) => void
  timer: ReturnType<typeof setTimeout>
}

/**
 * Holds work while the connection is down: at most `max` waiters, each for at
 * most `timeout` ms, then it fails with `publish-timeout` and is never sent.
 * `release()` lets every waiter through in arrival order.
 */
export function createOfflineQueue(options: { max: number; timeout: number }) {
  const waiters: Waiter[] = []
  return {
    get size() {
      return waiters.length
    },
    wait(): Promise<void> {
      if (waiters.length >= options.max) {
        return Promise.reject(
          new RedisseError(
            'broker-unavailable',
            `Redis is unreachable and ${options.max} publishes already wait (maxQueued): retry later`,
          ),
        )
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1)
            reject(
              new RedisseError(
                'publish-timeout',
                `Redis stayed unreachable for ${options.timeout} ms (publishTimeout): the event was not published`,
              ),
            )
          }, options.timeout),
        }
        waiters.push(waiter)
      })
    },
    release(): void {
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer)
        waiter.resolve()
      }
    },
    rejectAll(err: RedisseError): void {
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer)
        waiter.reject(err)
      }
    },
  }
}
