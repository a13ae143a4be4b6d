import { ReservedEvents } from '@redisse/protocol'
import { clientError, networkError } from './clientError'
import { httpError } from './httpFailure'
import { probeStatus } from './probeStatus'
import type {
  Transport,
  TransportOutcome,
  TransportRequest,
  WebSocketConstructor,
} from './Transport'

/** Option `WebSocket`, else the global one (browsers, Node ≥ 22). */
const webSocketOf = (env: { WebSocket: WebSocketConstructor | undefined }) =>
  env.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket

/** The stream URL for `new WebSocket`: `ws:`/`wss:`, token and resume point in the query. */
export function webSocketUrlOf(request: TransportRequest): URL {
  const url = new URL(request.url)
  url.protocol = url.protocol.replace(/^http/, 'ws')
  if (request.token) url.searchParams.set('access_token', request.token)
  if (request.lastEventId) url.searchParams.set('lastEventId', request.lastEventId)
  return url
}

/** The outcome of a close after the upgrade, by its code (`WsCloseCodes`). */
function closeOutcome(code: number, reason: string): TransportOutcome {
  // Token mode: the channel list became empty; reconnecting would get 401.
  if (code === 4001) {
    return { kind: 'failed', status: 401, error: httpError(401, reason || 'channels revoked') }
  }
  // Policy violation: the server refuses this client.
  if (code === 1008) {
    return { kind: 'failed', status: 403, error: httpError(403, reason || 'policy violation') }
  }
  // Normal (the app closed it), going away (server restart), internal error,
  // abnormal (network): the stream is over, resume on a new one.
  return {
    kind: 'ended',
    error:
      code === 1000 || code === 1001
        ? undefined
        : networkError(code, `WebSocket closed with code ${code}${reason ? `: ${reason}` : ''}`),
  }
}

/**
 * The server's WebSocket stream: JSON frames `{ id, type, channel, data }`
 * (`EventFrame` of `@redisse/protocol`), each decoded once and handed over
 * with its value. Browsers cannot send headers on a WebSocket, so the token
 * travels as `access_token` and the resume point as `lastEventId` in the
 * query. Keep-alive pings are answered by the runtime and invisible here, so
 * there is no stall watchdog. The connection counts as open at the first
 * frame (`redisse:ready` after any replay, or a replayed event).
 * @see https://websockets.spec.whatwg.org/#the-websocket-interface
 */
export const websocketTransport: Transport = {
  name: 'websocket',
  seesKeepAlive: false,
  available: (env) => !env.needsHeaders && !!webSocketOf(env),
  open(request, handlers) {
    const url = webSocketUrlOf(request)
    const ws = new (webSocketOf(request) as WebSocketConstructor)(String(url))
    let connected = false
    let opened = false
    let done = false
    let failure: unknown
    const close = (outcome: TransportOutcome) => {
      if (done) return
      done = true
      ws.close()
      handlers.close(outcome)
    }
    const invalid = () =>
      close({
        kind: 'invalid',
        error: clientError('invalid-response', 'not a Redisse event frame'),
      })
    ws.onopen = () => {
      connected = true
    }
    ws.onmessage = ({ data }) => {
      if (done) return
      if (typeof data !== 'string') return invalid()
      let frame: { id?: unknown; type?: unknown; data?: unknown }
      try {
        frame = JSON.parse(data)
      } catch {
        return invalid()
      }
      if (typeof frame?.type !== 'string') return invalid()
      handlers.activity()
      if (!opened) {
        opened = true
        handlers.open()
      }
      if (frame.type === ReservedEvents.ready) return
      if (typeof frame.id === 'string') handlers.id(frame.id)
      handlers.event(frame.type, '', { value: frame.data })
    }
    // An error is always followed by close, which reports it; the handler
    // stays set because the `ws` package throws errors nobody listens to.
    ws.onerror = (event) => {
      failure = networkError(
        event,
        String((event as { error?: unknown }).error ?? 'WebSocket error'),
      )
    }
    ws.onclose = ({ code, reason }) => {
      if (done) return
      if (connected) return close(closeOutcome(code, reason))
      done = true
      // Refused before the upgrade (401, 403, 429, 503 answered as HTTP)
      // only shows as close 1006 in browsers. A 200 event stream means the
      // server takes the request but not as a WebSocket (upgrades off, or
      // not forwarded by a proxy): a network failure, retried.
      const http = new URL(url)
      http.protocol = http.protocol.replace(/^ws/, 'http')
      void probeStatus(request, http, {
        kind: 'failed',
        error: failure ?? networkError(code, 'WebSocket closed before it opened'),
      }).then((outcome) => {
        if (!request.signal.aborted) handlers.close(outcome)
      })
    }
    request.signal.addEventListener('abort', () => {
      done = true
      ws.close()
    })
    return {}
  },
}
