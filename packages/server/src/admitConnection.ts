import type { IncomingMessage } from 'node:http'
import { isRedisseError, RedisseError } from '@redisse/protocol'
import { clientAddressOf } from './clientAddressOf'
import type { Reservation } from './createAdmissionLedger'
import { type Access, resolveAccess } from './resolveAccess'
import type { ServerContext } from './ServerContext'

/** The access of an admitted connection, with the place it holds in the node's limits. */
export interface AdmittedAccess extends Access {
  /**
   * Held until the connection closes; a transport that ends before
   * attaching a connection must {@link Reservation.release} it.
   */
  reservation: Reservation
}

/** Whether a connection request may open, and if not, the error to answer. */
export type Admission =
  | { ok: true; access: AdmittedAccess }
  | { ok: false; error: RedisseError; headers: Record<string, string> }

/**
 * The checks every transport (SSE, WebSocket, long poll) runs before its
 * first byte: shutdown, the node's and the client address's connection
 * limits, access (callback, token or public channels) and the per-subject
 * limit. Every limit counts reservations taken here, synchronously with
 * the check, so a burst of concurrent connects cannot pass one while earlier
 * ones still wait for their token. Refusals are counted.
 */
export async function admitConnection(
  ctx: ServerContext,
  req: IncomingMessage,
  url: URL,
): Promise<Admission> {
  const { options, counters } = ctx
  const retryAfter = { 'Retry-After': String(Math.ceil(options.retry / 1000) || 1) }
  if (ctx.closing) {
    return {
      ok: false,
      error: new RedisseError('closed', 'server is shutting down: reconnect shortly'),
      headers: { 'Retry-After': '1' },
    }
  }
  // Read only when limited: asking a socket its peer keeps the answer on it
  // (about 80 B per open stream).
  const reservation = ctx.admissions.reserve(
    options.limits.connectionsPerIp === Number.POSITIVE_INFINITY
      ? undefined
      : clientAddressOf(req, options.trustProxy),
  )
  if (reservation === 'node') {
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
  if (reservation === 'ip') {
    counters.rejected['ip-limit'] += 1
    return {
      ok: false,
      error: new RedisseError(
        'too-many-connections',
        `this address is at limits.connectionsPerIp (${options.limits.connectionsPerIp}): close a stream or retry later`,
        { status: 429 },
      ),
      headers: retryAfter,
    }
  }
  // Whatever path a transport takes after admission, a place never outlives
  // the client's socket unless a connection holds it.
  const socket = req.socket
  const onGone = () => reservation.release()
  socket.once('close', onGone)
  reservation.onSettle(() => socket.off('close', onGone))
  let access: Access
  try {
    access = await resolveAccess(req, url, options, ctx.broker)
  } catch (err) {
    reservation.release()
    if (isRedisseError(err, 'unauthorized')) counters.rejected.unauthorized += 1
    else if (isRedisseError(err, 'forbidden')) counters.rejected.forbidden += 1
    else counters.rejected.invalid += 1
    if (!isRedisseError(err) || err.code === 'internal') {
      options.logger.error('access check failed', {
        err: String(err),
        cause: String((err as Error).cause ?? ''),
      })
    }
    // What an internal error says (an invalid channel the app returned, a
    // stack) is for the log only.
    const error =
      isRedisseError(err) && err.code !== 'internal'
        ? err
        : new RedisseError('internal', 'internal error: see the server log', { cause: err })
    return { ok: false, error, headers: {} }
  }
  if (ctx.closing) {
    reservation.release()
    return {
      ok: false,
      error: new RedisseError('closed', 'server is shutting down: reconnect shortly'),
      headers: { 'Retry-After': '1' },
    }
  }
  if (!reservation.claimSubject(access.subject)) {
    reservation.release()
    counters.rejected['subject-limit'] += 1
    return {
      ok: false,
      error: new RedisseError(
        'too-many-connections',
        `subject is at limits.connectionsPerSubject (${options.limits.connectionsPerSubject}): close a stream or retry later`,
        { status: 429 },
      ),
      headers: retryAfter,
    }
  }
  return { ok: true, access: { ...access, reservation } }
}

/** The cursor a client resumes from: `Last-Event-ID` header, else the `lastEventId` query param. */
export function lastEventIdOf(req: IncomingMessage, url: URL): string | undefined {
  const value = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? undefined
  return typeof value === 'string' && value !== '' ? value : undefined
}
