import type { IncomingMessage, ServerResponse } from 'node:http'
import { encodeComment, encodeRetry, RedisseError } from '@redisse/protocol'
import { admitConnection, lastEventIdOf } from './admitConnection'
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
  if (res.destroyed || req.destroyed) {
    admission.access.reservation.release()
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

  const connection = new SseConnection(res, admission.access.subject, connectionHostOf(ctx))
  const started = await startDelivery(ctx, connection, admission.access, lastEventIdOf(req, url))
  if (started === false || connection.closed) return
  connection.writeRaw(encodeComment('ok'))
  connectionHostOf(ctx).opened(connection, {
    mode: admission.access.mode,
    channels: admission.access.channels.length,
  })
}
