import { isRedisseError, RedisseError } from '@redisse/protocol'
import type { Broker } from './broker/Broker'

/**
 * Resolves once the broker is ready; rejects with `broker-unavailable` after
 * `timeout` ms. A broker's own `ready()` may give up sooner (the Redis broker
 * waits 10 s per call): it is asked again until our deadline, so the caller's
 * timeout is the one that holds, longer or shorter.
 */
export async function brokerReadyWithin(broker: Broker, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RedisseError(
            'broker-unavailable',
            `cannot reach Redis within ${Math.round(timeout / 100) / 10} s: check the redis option / REDIS_URL / --redis, or raise redisTimeout / --redis-timeout`,
          ),
        ),
      timeout,
    )
  })
  try {
    for (;;) {
      try {
        await Promise.race([broker.ready(), expired])
        return
      } catch (err) {
        // A refused setting, or a record only an operator can delete, will not pass on a second try.
        if (
          Date.now() >= deadline ||
          broker.state === 'closed' ||
          isRedisseError(err, 'invalid-option') ||
          isRedisseError(err, 'partitions-record-invalid')
        )
          throw err
        // A give-up of the broker's own ready() before our deadline: ask again.
        await Promise.race([new Promise((r) => setTimeout(r, 50)), expired])
      }
    }
  } finally {
    clearTimeout(timer)
  }
}
