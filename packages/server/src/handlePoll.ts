import type { IncomingMessage, ServerResponse } from 'node:http'
import { encodePollResponse, formatCursor, RedisseError } from '@redisse/protocol'
import { admitConnection, lastEventIdOf } from './admitConnection'
import { connectionHostOf } from './connectionHost'
import { sendError } from './httpErrors'
import { PollConnection } from './PollConnection'
import { readHeadCursor } from './readHeadCursor'
import type { ServerContext } from './ServerContext'
import { startDelivery } from './startDelivery'

/**
 * Answers `GET /poll`, the long-poll fallback: the same access and limits
 * as the stream, and the same replay. Without a cursor it answers at once
 * with the log's head (the next poll starts from now); with one, it answers
 * at once when events are pending after it, else waits up to `poll.wait`
 * for the first live event of its channels. Resets come as `redisse:reset`
 * events, as on the stream.
 */
export async function handlePoll(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
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
  ctx.hub.counters.polls += 1
  const lastEventId = lastEventIdOf(req, url)
  if (lastEventId === undefined) {
    const head = await readHeadCursor(ctx.broker, access.channels).catch((cause: unknown) => {
      access.reservation.release()
      throw new RedisseError('broker-unavailable', 'cannot read the log head: retry shortly', {
        cause,
      })
    })
    // An empty log has no cursor to give: wait for its first event instead.
    if (head !== undefined) {
      // Answered without a connection: the place is given back at once.
      access.reservation.release()
      const body = encodePollResponse([], head)
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      })
      res.end(body)
      return
    }
  }
  const host = connectionHostOf(ctx)
  const connection = new PollConnection(res, access.subject, host, ctx.options.poll)
  if (lastEventId !== undefined) connection.advance(lastEventId, true)
  const outcome = await startDelivery(ctx, connection, access, lastEventId)
  if (outcome === false || connection.closed) return
  if (outcome?.head.epoch !== undefined) {
    connection.advance(formatCursor({ epoch: outcome.head.epoch, seq: outcome.head.seq }))
  }
  host.opened(connection, { mode: access.mode, channels: access.channels.length })
  connection.wait()
}
