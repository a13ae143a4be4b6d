import { networkError } from './clientError'
import { probeStatus } from './probeStatus'
import type { Transport } from './Transport'

/**
 * The native `EventSource` (or any WHATWG one, such as the npm `eventsource`
 * package in Node). It cannot send headers, so the token travels as
 * `access_token`, and the first connection resumes with the `lastEventId`
 * query parameter.
 *
 * While the EventSource reconnects by itself (`readyState` CONNECTING after
 * an error), it is left to do so: it sends `Last-Event-ID` with the last id
 * it saw, which any spec-following server resumes from, and the client only
 * reports `reconnecting`. When it gives up (CLOSED: a non-200 answer, a
 * wrong content type), the status it hides is learnt with one `fetch` of the
 * same URL ({@link probeStatus}), and the client applies the fetch
 * transport's rules; only then, or for a fresh token, is a new EventSource
 * made.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
 */
export const eventSourceTransport: Transport = {
  name: 'eventsource',
  seesKeepAlive: false,
  available: (env) => !env.needsHeaders && env.EventSource !== undefined,
  open(request, handlers) {
    const url = new URL(request.url)
    if (request.token) url.searchParams.set('access_token', request.token)
    if (request.lastEventId) url.searchParams.set('lastEventId', request.lastEventId)
    const source = new (request.EventSource as NonNullable<typeof request.EventSource>)(url, {
      withCredentials: request.withCredentials,
    })
    let opened = false
    const types = new Set([''])
    const onMessage = (event: MessageEvent<string>) => {
      // The last event id buffer, as the spec defines it: an empty `id:`
      // resets it to ''.
      handlers.id(event.lastEventId)
      handlers.event(event.type, event.data)
    }
    source.onopen = () => {
      opened = true
      handlers.open()
    }
    source.onerror = (event) => {
      const error = networkError(
        event,
        (event as { message?: string }).message || 'EventSource error',
      )
      // 2: CLOSED (a constructor passed in need not carry the constants).
      if (source.readyState !== 2) return handlers.lost(error)
      source.close()
      void probeStatus(
        request,
        url,
        opened ? { kind: 'ended', error } : { kind: 'failed', error },
      ).then((outcome) => {
        if (!request.signal.aborted) handlers.close(outcome)
      })
    }
    request.signal.addEventListener('abort', () => source.close())
    return {
      listen(type) {
        if (types.has(type)) return
        types.add(type)
        source.addEventListener(type, onMessage as EventListener)
      },
    }
  },
}
