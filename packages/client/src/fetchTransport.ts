import { networkError } from './clientError'
import { createStreamDecoder } from './createStreamDecoder'
import { httpFailure } from './httpFailure'
import { isEventStream } from './isEventStream'
import { parseEventStream } from './parseEventStream'
import { invalidContentType } from './probeStatus'
import type { Transport, TransportRequest } from './Transport'

/** Request headers of a stream or poll request: Bearer token, resume point, user headers. */
export function requestHeaders(request: TransportRequest, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept }
  if (request.token) headers.authorization = `Bearer ${request.token}`
  // Browsers send the id as UTF-8 bytes; a header value is a ByteString
  // (one char per byte), so the bytes go as chars, and an id beyond Latin-1
  // travels as browsers send it instead of making fetch throw.
  if (request.lastEventId) {
    let bytes = ''
    for (const byte of new TextEncoder().encode(request.lastEventId)) {
      bytes += String.fromCharCode(byte)
    }
    headers['last-event-id'] = bytes
  }
  return Object.assign(headers, request.headers)
}

/**
 * `fetch` + `ReadableStream` + streaming `TextDecoder` + {@link parseEventStream}: sends
 * the token as `Authorization: Bearer`, the resume point as `Last-Event-ID`
 * and any custom headers. Works in browsers and in Node ≥ 20.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export const fetchTransport: Transport = {
  name: 'fetch',
  seesKeepAlive: true,
  available: (env) => env.fetch !== undefined && typeof ReadableStream === 'function',
  open(request, handlers) {
    const run = async () => {
      const response = await (request.fetch as typeof fetch)(request.url, {
        headers: requestHeaders(request, 'text/event-stream'),
        credentials: request.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
        signal: request.signal,
      })
      if (response.status === 204) {
        void response.body?.cancel()
        return handlers.close({ kind: 'stopped' })
      }
      if (response.status !== 200) return handlers.close(await httpFailure(response))
      const contentType = response.headers.get('content-type')
      if (!isEventStream(contentType) || !response.body) {
        void response.body?.cancel()
        return handlers.close({ kind: 'invalid', error: invalidContentType(contentType) })
      }
      handlers.open()
      const feed = parseEventStream(handlers)
      // A fresh streaming decoder per connection drops exactly one leading BOM.
      const decode = createStreamDecoder()
      const reader = response.body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          handlers.activity()
          feed(decode(value))
        }
        feed(decode())
        handlers.close({ kind: 'ended' })
      } catch (error) {
        handlers.close(
          (error as { code?: string }).code === 'payload-too-large'
            ? { kind: 'too-large', error }
            : { kind: 'ended', error: networkError(error) },
        )
      }
    }
    run().catch((error: unknown) => handlers.close({ kind: 'failed', error: networkError(error) }))
    return {}
  },
}
