import { RedisseError } from '@redisse/protocol'

/** How {@link withDeadline} bounds one broker call. */
export interface DeadlineOptions {
  /** What the call does, for the error message (`read the log head`). */
  what: string
  /** The bound, ms. */
  ms: number
  /**
   * Aborted when the connection the call was sent on is gone: a command in
   * flight then will never be answered (ioredis 6.0.0 drops it on reconnect
   * without settling it, redis/ioredis#2193), so waiting for `ms` is pointless.
   */
  signal?: AbortSignal | undefined
}

/**
 * Settles a broker call within a bound, whatever the Redis client does: its
 * result, or a `RedisseError('broker-unavailable')` once `ms` have passed,
 * the connection is gone, or the call failed for a reason of its own (a
 * `RedisseError` it throws is kept as is). A promise that never settles
 * can therefore never leave a stream open and silent.
 */
export function withDeadline<T>(work: Promise<T>, options: DeadlineOptions): Promise<T> {
  const { what, ms, signal } = options
  const unavailable = (why: string, cause?: unknown) =>
    new RedisseError('broker-unavailable', `cannot ${what}: ${why}; retry shortly`, {
      ...(cause === undefined ? {} : { cause }),
    })
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      done()
      reject(unavailable(`Redis did not answer within ${ms} ms`))
    }, ms)
    const onAbort = () => {
      done()
      reject(unavailable('the Redis connection was lost with the command in flight'))
    }
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        done()
        resolve(value)
      },
      (err: unknown) => {
        done()
        reject(err instanceof RedisseError ? err : unavailable(String(err), err))
      },
    )
  })
}
