import type { IncomingMessage, ServerResponse } from 'node:http'
import { encodeComment, encodeRetry, isRedisseError, RedisseError } from '@redisse/protocol'
import { applyCors } from './cors'
import { sendError } from './httpErrors'
import { replayHistory } from './replayHistory'
import { resolveAccess } from './resolveAccess'
import type { ServerContext } from './ServerContext'
import { SseConnection } from './SseConnection'

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
  const { options, hub, counters } = ctx
  if (ctx.closing) {
    sendError(res, new RedisseError('closed', 'server is shutting down: reconnect shortly'), {
      'Retry-After': '1',
    })
    return
  }
  if (!acceptsEventStream(req.headers.accept)) {
    sendError(
      res,
      new RedisseError(
        'not-acceptable',
        'this endpoint serves text/event-stream: send Accept: text/event-stream',
      ),
    )
    return
  }
  if (hub.connections.size >= options.limits.connections) {
    counters.rejected.limit += 1
    sendError(
      res,
      new RedisseError(
        'too-many-connections',
        `node is at limits.connections (${options.limits.connections}): retry later`,
      ),
      { 'Retry-After': String(Math.ceil(options.retry / 1000) || 1) },
    )
    return
  }
  let access: Awaited<ReturnType<typeof resolveAccess>>
  try {
    access = await resolveAccess(req, url, options, ctx.broker)
  } catch (err) {
    if (isRedisseError(err, 'unauthorized')) counters.rejected.unauthorized += 1
    else if (isRedisseError(err, 'forbidden')) counters.rejected.forbidden += 1
    else counters.rejected.invalid += 1
    if (!isRedisseError(err) || err.code === 'internal') {
      options.logger.error('access check failed', {
        err: String(err),
        cause: String((err as Error).cause ?? ''),
      })
    }
    sendError(res, err)
    return
  }
  if (access.subject !== undefined) {
    let open = 0
    for (const _ of hub.connectionsOf(access.subject)) open += 1
    if (open >= options.limits.connectionsPerSubject) {
      counters.rejected['subject-limit'] += 1
      sendError(
        res,
        new RedisseError(
          'too-many-connections',
          `subject has ${open} open streams, limits.connectionsPerSubject is ${options.limits.connectionsPerSubject}`,
          { status: 429 },
        ),
        { 'Retry-After': String(Math.ceil(options.retry / 1000) || 1) },
      )
      return
    }
  }
  if (res.destroyed || req.destroyed) return

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

  const connection = new SseConnection(res, access.subject, options.limits.bufferBytes, (c) => {
    hub.detach(c)
    options.logger.info('stream closed', {
      conn: c.id,
      reason: c.closeReason,
      durationMs: Date.now() - c.openedAt,
    })
  })
  options.logger.info('stream opened', {
    conn: connection.id,
    mode: access.mode,
    channels: access.channels.length,
    ...(access.subject === undefined ? {} : { subject: access.subject }),
  })
  const lastEventId =
    req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? undefined
  const resume = typeof lastEventId === 'string' && lastEventId !== '' && options.history.enabled
  // Live frames are held from before the subscription until history has
  // been read and sent, so nothing falls between replay and live.
  if (resume) connection.holdLive()
  try {
    await hub.attach(connection, access.channels)
    if (resume) {
      const outcome = await replayHistory(ctx.broker, hub, connection, lastEventId)
      options.logger.info('stream resumed', {
        conn: connection.id,
        from: lastEventId.slice(0, 100),
        replayed: outcome.replayed,
        ...(outcome.reset
          ? { reset: outcome.reset.reason, resetChannels: outcome.reset.channels.length }
          : {}),
      })
    }
  } catch (err) {
    options.logger.error('cannot subscribe or replay stream channels', {
      conn: connection.id,
      err: String(err),
    })
    connection.close('write-error')
    return
  }
  connection.write(encodeComment('ok'))
}
