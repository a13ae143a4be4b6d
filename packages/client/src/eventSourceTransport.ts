import { httpError } from './httpFailure'
import type { Transport } from './Transport'

/**
 * The native `EventSource` (or any WHATWG one, such as the npm `eventsource`
 * package in Node). It cannot send headers, so the token travels as
 * `access_token` and the resume point as the `lastEventId` query parameter;
 * the client, not the browser, reconnects, so ids are never lost.
 *
 * Browsers hide the HTTP status of a failed EventSource: failures there are
 * retried as network errors. Implementations that expose it as `code` on the
 * error event (npm `eventsource`) get the exact status rules (204, 401, 5xx).
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
      // An empty lastEventId is kept out: the npm `eventsource` package
      // reports '' for events without their own id, and keeping the last
      // id seen is the safe resume point either way.
      if (event.lastEventId) handlers.id(event.lastEventId)
      handlers.event(event.type, event.data)
    }
    source.onopen = () => {
      opened = true
      handlers.open()
    }
    source.onerror = (event) => {
      source.close()
      const { code: status, message } = event as Event & { code?: number; message?: string }
      const error = status ? httpError(status, message ?? '') : new Error(message)
      if (status === 204) handlers.close({ kind: 'stopped' })
      else if (status === 200) handlers.close({ kind: 'invalid', error })
      else if (opened) handlers.close({ kind: 'ended', error })
      else handlers.close({ kind: 'failed', status, error })
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
