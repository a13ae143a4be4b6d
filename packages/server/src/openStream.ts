import type { IncomingMessage, ServerResponse } from 'node:http'
import { encodeComment, encodeRetry, RedisseError } from '@redisse/protocol'
import { type AdmittedAccess, admitConnection, lastEventIdOf } from './admitConnection'
import { connectionHostOf } from './connectionHost'
import { applyCors } from './cors'
import { sendError } from './httpErrors'
import type { ServerContext } from './ServerContext'
import { SseConnection } from './SseConnection'
import { startDelivery } from './startDelivery'

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
} as const

function acceptsEventStream(accept: string | undefined): boolean {
  if (!accept) return true
  return /text\/event-stream|\*\/\*|text\/\*/i.test(accept)
}

/**
 * Answers `GET /` with an event stream: access is decided and limits
 * checked before any byte of the stream, then headers and `retry:` go out at
 * once, and `:ok` once every channel is live on the bus.
 *
 * Settles as soon as the headers are out, before the channels are live:
 * from then on nothing refers to the request or the response but the
 * socket, which the stream takes from node:http, so they die young instead
 * of waiting in the old generation (about 4 KB per stream) for a full GC.
 */
export async function openStream(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const { options } = ctx
  if (!ctx.closing && !acceptsEventStream(req.headers.accept)) {
    sendError(
      res,
      new RedisseError(
        'not-acceptable',
        'this endpoint serves text/event-stream: send Accept: text/event-stream',
      ),
    )
    return
  }
  const admission = await admitConnection(ctx, req, url)
  if (!admission.ok) {
    sendError(res, admission.error, admission.headers)
    return
  }
  const { access } = admission
  if (res.destroyed || req.destroyed) {
    access.reservation.release()
    return
  }

  // A stream lives as long as the client wants: no idle or request timeout
  // of the host server may cut it.
  req.socket.setTimeout(0)
  req.socket.setNoDelay(true)
  req.socket.setKeepAlive(true, 30_000)
  applyCors(options.cors, req, res)
  res.writeHead(
    200,
    req.httpVersionMajor === 1 && req.httpVersionMinor === 1
      ? { ...STREAM_HEADERS, Connection: 'keep-alive' }
      : STREAM_HEADERS,
  )
  res.write(encodeRetry(options.retry))

  const connection = new SseConnection(res, access.subject, connectionHostOf(ctx))
  void goLive(ctx, connection, access, lastEventIdOf(req, url), url.pathname)
}

/**
 * Joins the stream's channels (and replays what it missed), then writes
 * `:ok`; holds the connection, never the request or response.
 */
async function goLive(
  ctx: ServerContext,
  connection: SseConnection,
  access: AdmittedAccess,
  lastEventId: string | undefined,
  path: string,
): Promise<void> {
  try {
    const started = await startDelivery(ctx, connection, access, lastEventId)
    if (started === false || connection.closed) return
    connection.writeRaw(encodeComment('ok'))
    connectionHostOf(ctx).opened(connection, {
      mode: access.mode,
      channels: access.channels.length,
    })
  } catch (err) {
    // As the request handler answers a failed request once its headers are
    // out: logged, and the stream cut.
    ctx.options.logger.error('request failed', { path, err: String(err) })
    connection.close('write-error')
  }
}
