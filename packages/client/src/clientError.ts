import type { ErrorCode } from '@redisse/protocol'

/**
 * An error of the client: shaped as a `RedisseError` (`name`, stable kebab-case
 * `code`, `status`), so `isRedisseError(err, 'unauthorized')` from
 * `@redisse/protocol` recognises it, but built without the class, whose code
 * table would cost a tenth of the size budget of the browser bundle.
 */
export interface ClientError extends Error {
  name: 'RedisseError'
  code: ErrorCode
  /** HTTP status, when the error is an HTTP answer. */
  status: number | undefined
}

/** Creates a {@link ClientError}. */
export function clientError(code: ErrorCode, message: string, status?: number): ClientError {
  return Object.assign(new Error(message), { name: 'RedisseError' as const, code, status })
}
