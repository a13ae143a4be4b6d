/**
 * Stable error codes of Redisse, with the HTTP status each maps to when it
 * crosses HTTP. Codes never change once released; messages may.
 */
export const ErrorCodes = {
  'invalid-channel': 400,
  'invalid-event-type': 400,
  'reserved-event-type': 400,
  'invalid-payload': 400,
  'payload-too-large': 413,
  'invalid-cursor': 400,
  'invalid-envelope': 500,
  'invalid-request': 400,
  'invalid-option': 500,
  'partitions-mismatch': 500,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  'too-many-connections': 503,
  'too-many-channels': 400,
  'broker-unavailable': 503,
  'publish-timeout': 503,
  'publish-failed': 502,
  closed: 503,
  gone: 410,
  'network-error': 503,
  'invalid-response': 502,
  overflow: 500,
  internal: 500,
} as const

/** A stable, kebab-case error code. */
export type ErrorCode = keyof typeof ErrorCodes

/** The JSON body of every HTTP error answered by Redisse. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

/**
 * The one error class of Redisse. `code` is stable and meant for programs;
 * `message` says what happened and what to change.
 *
 * @example
 * ```ts
 * try { validateChannel('bad name') } catch (err) {
 *   if (err instanceof RedisseError && err.code === 'invalid-channel') …
 * }
 * ```
 */
export class RedisseError extends Error {
  override readonly name = 'RedisseError'
  /** Stable kebab-case code. */
  readonly code: ErrorCode
  /** HTTP status this error maps to. */
  readonly status: number

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options?.status ?? ErrorCodes[code]
  }

  /** The JSON body used for HTTP answers. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } }
  }
}

/** True for a {@link RedisseError}, optionally of the given code (works across package copies). */
export function isRedisseError(value: unknown, code?: ErrorCode): value is RedisseError {
  if (!(value instanceof Error) || value.name !== 'RedisseError') return false
  return code === undefined || (value as RedisseError).code === code
}
