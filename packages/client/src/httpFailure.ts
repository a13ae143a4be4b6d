import { type ErrorCode, ErrorCodes, RedisseError } from '@redisse/protocol'
import { parseRetryAfter } from './parseRetryAfter'
import type { TransportOutcome } from './Transport'

const CODE_OF_STATUS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  406: 'not-acceptable',
  429: 'too-many-connections',
  503: 'broker-unavailable',
}

/** A `RedisseError` for an HTTP status (code from the status when the body gave none). */
export function httpError(status: number, message: string, code?: string): RedisseError {
  const known = code && code in ErrorCodes ? (code as ErrorCode) : undefined
  return new RedisseError(
    known ?? CODE_OF_STATUS[status] ?? (status >= 500 ? 'internal' : 'invalid-request'),
    message,
    { status },
  )
}

/**
 * The outcome of an HTTP answer that is not a 200 stream: a `RedisseError`
 * read from the server's JSON body `{ error: { code, message } }` when there
 * is one, with the status and any `Retry-After`.
 */
export async function httpFailure(response: Response): Promise<TransportOutcome> {
  const { status } = response
  let body: { error?: { code?: string; message?: string } } | undefined
  try {
    body = await response.json()
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return {
    kind: 'failed',
    status,
    retryAfter: parseRetryAfter(response.headers.get('retry-after')),
    error: httpError(
      status,
      body?.error?.message ?? `server answered HTTP ${status}`,
      body?.error?.code,
    ),
  }
}
