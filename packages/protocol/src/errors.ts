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
  /** A 400 that names no more specific code (a proxy's, say); Redisse itself always does. */
  'invalid-request': 400,
  /** An SSE `id` or `event` field with a line break (or NUL in `id`). */
  'invalid-sse-field': 400,
  /** A WebSocket event frame that is not JSON or not `{ type, data, … }`. */
  'invalid-frame': 400,
  /** A subject id that is not 1 to 200 printable ASCII characters without spaces. */
  'invalid-subject': 400,
  /** A token handed back (to revoke it) that is not a string of 1 to 512 characters. */
  'invalid-token': 400,
  /** An idempotency key that is not 1 to 200 printable ASCII characters. */
  'invalid-idempotency-key': 400,
  /** A token ttl that is not a positive integer of ms. */
  'invalid-ttl': 400,
  /** A request or AMQP message body that is not JSON. */
  'invalid-json': 400,
  /** A JSON body of the wrong shape: not an event object, no `data`, a bad `events` batch. */
  'invalid-body': 400,
  /** A request target that is not a path on this server, or a bad %-encoding in it. */
  'malformed-target': 400,
  /** A stream or long poll sent pipelined behind another request on one connection. */
  'pipelined-request': 400,
  /** A public-mode stream or poll without `?channel=`. */
  'channel-required': 400,
  'invalid-option': 500,
  'partitions-mismatch': 500,
  /** Redis Cluster: the record of the servers' partition count holds something no server writes. */
  'partitions-record-invalid': 500,
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
