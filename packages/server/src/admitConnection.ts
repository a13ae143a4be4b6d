import type { IncomingMessage } from 'node:http'
import { isRedisseError, RedisseError } from '@redisse/protocol'
import { type Access, resolveAccess } from './resolveAccess'
import type { ServerContext } from './ServerContext'

/** Whether a connection request may open, and if not, the error to answer. */
export type Admission =
  | { ok: true; access: Access }
  | { ok: false; error: RedisseError; headers: Record<string, string> }

/**
 * The checks every transport (SSE, WebSocket, long poll) runs before its
 * first byte: shutdown, the node's connection limit, access (callback,
 * token or public channels) and the per-subject limit. Refusals are counted.
 */
export async function admitConnection(
  ctx: ServerContext,
  req: IncomingMessage,
  url: URL,
): Promise<Admission> {
  const { options, hub, counters } = ctx
  const retryAfter = { 'Retry-After': String(Math.ceil(options.retry / 1000) || 1) }
  if (ctx.closing) {
    return {
      ok: false,
      error: new RedisseError('closed', 'server is shutting down: reconnect shortly'),
      headers: { 'Retry-After': '1' },
    }
  }
  if (hub.connections.size >= options.limits.connections) {
    counters.rejected.limit += 1
    return {
      ok: false,
      error: new RedisseError(
        'too-many-connections',
        `node is at limits.connections (${options.limits.connections}): retry later`,
      ),
      headers: retryAfter,
    }
  }
  let access: Access
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
    const error = isRedisseError(err)
      ? err
      : new RedisseError('internal', 'internal error: see the server log', { cause: err })
    return { ok: false, error, headers: {} }
  }
  if (access.subject !== undefined) {
    let open = 0
    for (const _ of hub.connectionsOf(access.subject)) open += 1
    if (open >= options.limits.connectionsPerSubject) {
      counters.rejected['subject-limit'] += 1
      return {
        ok: false,
        error: new RedisseError(
          'too-many-connections',
          `subject has ${open} open streams, limits.connectionsPerSubject is ${options.limits.connectionsPerSubject}`,
          { status: 429 },
        ),
        headers: retryAfter,
      }
    }
  }
  return { ok: true, access }
}

/** The cursor a client resumes from: `Last-Event-ID` header, else the `lastEventId` query param. */
export function lastEventIdOf(req: IncomingMessage, url: URL): string | undefined {
  const value = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? undefined
  return typeof value === 'string' && value !== '' ? value : undefined
}
