import { clientError } from './clientError'
import { httpFailure } from './httpFailure'
import { isEventStream } from './isEventStream'
import type { TransportOutcome, TransportRequest } from './Transport'

/**
 * Browsers hide the HTTP answer of a native EventSource or a WebSocket that
 * failed (an `error` event, a close 1006): the same URL is asked once over
 * `fetch` to learn it, and the outcome follows the fetch transport's rules
 * (204 stops; 401/403 go to `onAuthError`; 429/5xx wait for `Retry-After`;
 * another status, or a 200 that is not an event stream, closes). A 200 event
 * stream, or no answer at all, leaves `failure`: a network error, retried.
 * The stream a 200 probe opened is never kept.
 */
export async function probeStatus(
  request: TransportRequest,
  url: URL,
  failure: TransportOutcome,
): Promise<TransportOutcome> {
  if (!request.fetch) return failure
  const controller = new AbortController()
  const abort = () => controller.abort()
  request.signal.addEventListener('abort', abort)
  try {
    const response = await request.fetch(url, {
      headers: { accept: 'text/event-stream' },
      credentials: request.withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    })
    if (response.status === 204) return { kind: 'stopped' }
    if (response.status !== 200) return await httpFailure(response)
    const contentType = response.headers.get('content-type')
    if (isEventStream(contentType)) return failure
    return { kind: 'invalid', error: invalidContentType(contentType) }
  } catch {
    return failure
  } finally {
    abort()
    request.signal.removeEventListener('abort', abort)
  }
}

/** The error of a 200 answer that is not an event stream. */
export const invalidContentType = (contentType: string | null) =>
  clientError(
    'invalid-response',
    `expected text/event-stream, got ${contentType}: check the url`,
    200,
  )
