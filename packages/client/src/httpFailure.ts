import type { ErrorCode } from '@redisse/protocol'
import { type ClientError, clientError } from './clientError'
import { parseRetryAfter } from './parseRetryAfter'
import type { TransportOutcome } from './Transport'

/** A {@link ClientError} for an HTTP status, with the server's code when it sent one. */
export function httpError(status: number, message: string, code?: string): ClientError {
  const fallback =
    (
      {
        400: 'invalid-request',
        401: 'unauthorized',
        403: 'forbidden',
        404: 'not-found',
        410: 'gone',
        413: 'payload-too-large',
      } as const
    )[status as 401] ?? 'internal'
  return clientError((code || fallback) as ErrorCode, message, status)
}

/**
 * The outcome of an HTTP answer that is not a 200 stream: the server's JSON
 * body `{ error: { code, message } }` when there is one, the status and any
 * `Retry-After`.
 */
export async function httpFailure(response: Response): Promise<TransportOutcome> {
  const { status } = response
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined
  return {
    kind: 'failed',
    status,
    retryAfter: parseRetryAfter(response.headers.get('retry-after')),
    error: httpError(status, body?.error?.message ?? `HTTP ${status}`, body?.error?.code),
  }
}
