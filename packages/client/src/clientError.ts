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

/** Creates a {@link ClientError}; `cause` is what the runtime threw, when there was something. */
export function clientError(
  code: ErrorCode,
  message: string,
  status?: number,
  cause?: unknown,
): ClientError {
  return Object.assign(new Error(message, { cause }), {
    name: 'RedisseError' as const,
    code,
    status,
  })
}

/** A `network-error` {@link ClientError} for what a runtime threw or reported while connecting or reading. */
export const networkError = (cause: unknown, message = String(cause)): ClientError =>
  clientError('network-error', message, undefined, cause)
