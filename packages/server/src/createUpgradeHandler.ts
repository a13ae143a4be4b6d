import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { RedisseError } from '@redisse/protocol'
import { WebSocketServer } from 'ws'
import { type AdmittedAccess, admitConnection, lastEventIdOf } from './admitConnection'
import { connectionHostOf, settleHook } from './connectionHost'
import { type CorsOptions, isSameOrigin } from './cors'
import { parseRequestTarget } from './parseRequestTarget'
import type { ServerContext } from './ServerContext'
import { startDelivery } from './startDelivery'
import { WsConnection } from './WsConnection'

/** Handles the `upgrade` event of a Node HTTP server. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** How long a refused upgrade's answer may take to leave before its socket is cut, ms. */
const REFUSE_TIMEOUT_MS = 2000

/** Answers an upgrade request with a plain HTTP error, as the stream would, and ends the socket. */
function refuse(socket: Duplex, err: RedisseError, headers: Record<string, string> = {}): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify(err.toJSON())
  const lines = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ]
  // An upgrade socket is half-open by default: without these it would stay
  // open as long as the client keeps its side.
  socket.once('end', () => socket.destroy())
  ;(socket as Duplex & { setTimeout?(ms: number, cb: () => void): void }).setTimeout?.(
    REFUSE_TIMEOUT_MS,
    () => socket.destroy(),
  )
  socket.resume()
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}

/**
 * WebSockets are not bound by CORS, so a page of any origin could open one
 * with the user's cookies: browsers' upgrades are accepted from the page's
 * own host or from an origin `cors.origin` allows; others get 403. Whether
 * the cookie then authenticates is decided as on every transport
 * (`cookieAuthenticates`): never for an origin only `'*'` lets in.
 */
function originAllowed(cors: CorsOptions | undefined, req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (!origin || isSameOrigin(req)) return true
  if (!cors) return false
  const list = Array.isArray(cors.origin) ? cors.origin : [cors.origin]
  return list.includes('*') || list.includes(origin)
}

/**
 * Builds the WebSocket side of a server: `upgrade` serves any request it is
 * given as a stream (for apps routing upgrades themselves), `onServerUpgrade`
 * only the stream path `/` (the listener of the server `listen()` creates).
 * Access and limits are decided before the upgrade, and refusals answered
 * as HTTP errors like the stream's.
 */
export function createUpgradeHandler(ctx: ServerContext): {
  upgrade: UpgradeHandler
  onServerUpgrade: UpgradeHandler
} {
  const { options } = ctx
  const settings = options.websocket
  const wss = settings
    ? new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: settings.perMessageDeflate,
        maxPayload: settings.maxMessageBytes,
      })
    : undefined

  const open = async (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    access: AdmittedAccess,
  ): Promise<void> => {
    if (!wss) return
    // ws never calls back for a socket that closed during the handshake.
    const ws = await new Promise<import('ws').WebSocket | undefined>((resolve) => {
      socket.once('close', () => resolve(undefined))
      wss.handleUpgrade(req, socket, head, resolve)
    })
    if (!ws) {
      access.reservation.release()
      return
    }
    const push = options.push
    const host = connectionHostOf(ctx)
    const onMessage = push?.onMessage
    const connection = new WsConnection(
      ws,
      socket,
      access.subject,
      host,
      onMessage
        ? (conn, text) => {
            ctx.hub.counters.messages += 1
            try {
              settleHook(ctx, 'onMessage', onMessage.call(push, conn, text))
            } catch (err) {
              options.logger.error('push.onMessage threw', { conn: conn.id, err: String(err) })
            }
          }
        : undefined,
    )
    const started = await startDelivery(ctx, connection, access, lastEventIdOf(req, url))
    if (started === false || connection.closed) return
    connection.ready()
    host.opened(connection, { mode: access.mode, channels: access.channels.length })
  }

  const upgrade: UpgradeHandler = (req, socket, head) => {
    // Errors of a socket nobody reads yet must not crash the process.
    socket.on('error', () => socket.destroy())
    let url: URL
    try {
      url = parseRequestTarget(req.url)
    } catch (err) {
      // Thrown here, outside any promise, it would end the process.
      refuse(socket, err as RedisseError)
      return
    }
    const serve = async () => {
      if (!wss) {
        refuse(
          socket,
          new RedisseError('not-found', 'WebSocket streams are off (websocket: false)'),
        )
        return
      }
      if (!originAllowed(options.cors, req)) {
        ctx.counters.rejected.forbidden += 1
        refuse(
          socket,
          new RedisseError(
            'forbidden',
            `origin ${req.headers.origin} may not open a WebSocket here: add it to cors.origin`,
          ),
        )
        return
      }
      const admission = await admitConnection(ctx, req, url)
      if (!admission.ok) {
        refuse(socket, admission.error, admission.headers)
        return
      }
      if (socket.destroyed) {
        admission.access.reservation.release()
        return
      }
      await open(req, socket, head, url, admission.access).finally(() =>
        admission.access.reservation.release(),
      )
    }
    serve().catch((err: unknown) => {
      options.logger.error('upgrade failed', { err: String(err) })
      refuse(socket, new RedisseError('internal', 'internal error: see the server log'))
    })
  }

  return {
    upgrade,
    onServerUpgrade(req, socket, head) {
      let path: string
      try {
        path = parseRequestTarget(req.url).pathname
      } catch {
        // upgrade() answers the malformed target itself.
        path = '/'
      }
      if (path === '/' || path === '') {
        upgrade(req, socket, head)
      } else {
        socket.on('error', () => socket.destroy())
        refuse(socket, new RedisseError('not-found', `no WebSocket endpoint at ${path}`))
      }
    },
  }
}
