import { type IncomingMessage, Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** The parts of node:http's internal HTTPParser that letting go of one uses. */
interface HttpParser {
  _consumed?: boolean
  incoming?: unknown
  socket?: unknown
  onIncoming?: unknown
  unconsume(): void
  remove(): void
  close(): void
}

type HttpSocket = Socket & {
  parser?: HttpParser | null
  _httpMessage?: unknown
  server?: unknown
  encrypted?: boolean
}

/** The node:http server that accepted a plain (not TLS) socket. */
function httpServerOf(socket: Socket): Server | undefined {
  const { server, encrypted } = socket as HttpSocket
  if (encrypted || !(server instanceof Server) || server.listenerCount('connection') === 0) {
    return undefined
  }
  return server
}

/** Socket events node:http listens to for a request in progress. */
const HTTP_SOCKET_EVENTS = ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause']

function parserOf(socket: Socket): HttpParser | undefined {
  const parser = (socket as HttpSocket).parser
  if (
    parser &&
    typeof parser.unconsume === 'function' &&
    typeof parser.remove === 'function' &&
    typeof parser.close === 'function'
  ) {
    return parser
  }
  return undefined
}

/**
 * True when nothing but node:http itself (and `ownListeners` of the caller)
 * watches this request and response, so they can be let go of without
 * anyone missing a `close`: middleware that waits for the end of a response
 * (loggers, metrics, timers) keeps the stream on node:http instead.
 */
export function canDetachHttpSocket(
  req: IncomingMessage,
  res: ServerResponse,
  ownListeners: { close: number; error: number },
): boolean {
  const socket = res.socket
  if (!socket || socket.destroyed) return false
  // Only where the socket can be handed back once the stream ends.
  if (parserOf(socket) === undefined || httpServerOf(socket) === undefined) return false
  const watched = ['close', 'aborted', 'end', 'error', 'data'].some((e) => req.listenerCount(e) > 0)
  return (
    !watched &&
    // Bytes still held by the response would be lost with it.
    res.writableLength === socket.writableLength &&
    res.listenerCount('close') === ownListeners.close &&
    res.listenerCount('error') === ownListeners.error &&
    // node:http's own: it releases the socket for the next request.
    res.listenerCount('finish') <= 1
  )
}

/**
 * Takes a socket back from node:http after the response headers went out,
 * the way node:http lets go of a socket on `upgrade`: its listeners are
 * removed and its parser freed, so the request, the response and the parser
 * (about 5 KB per idle event stream) can be collected. From then on the
 * caller owns the socket: node:http no longer times it out, counts it in
 * `closeAllConnections()` or reads another request from it, until
 * {@link returnHttpSocket}.
 *
 * Must run after the parser has returned from the call that emitted the
 * request (tearing it down from inside that call crashes the process), so
 * never synchronously in a request listener.
 *
 * The socket keeps flowing with no `data` listener: the caller attaches its
 * own in the same tick, or bytes that arrive meanwhile are dropped.
 * @returns false, with nothing changed, when node:http's internals are not
 *   the expected ones
 */
export function detachHttpSocket(socket: Socket): boolean {
  const parser = parserOf(socket)
  if (!parser || socket.destroyed) return false
  for (const event of HTTP_SOCKET_EVENTS) socket.removeAllListeners(event)
  // Safe when not consumed; node:http reads through the parser natively.
  parser.unconsume()
  parser._consumed = false
  parser.remove()
  parser.incoming = null
  parser.socket = null
  parser.onIncoming = null
  const http = socket as HttpSocket
  http.parser = null
  http._httpMessage = null
  setImmediate(closeParser, parser)
  return true
}

function closeParser(parser: HttpParser): void {
  parser.close()
}

/**
 * Hands a socket taken by {@link detachHttpSocket} back to its node:http
 * server, as a new connection, once the stream's last bytes are written:
 * the connection stays what the `Connection: keep-alive` header promised,
 * ready for the client's next request. Must be called in the same tick as
 * the caller's own `data` listener is removed, or request bytes are lost.
 * @returns false when there is no server to hand it to
 */
export function returnHttpSocket(socket: Socket): boolean {
  const server = httpServerOf(socket)
  if (!server || socket.destroyed) return false
  server.emit('connection', socket)
  return true
}
