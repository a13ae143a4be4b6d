import type { Connection } from './Connection'
import { createExpiryTimer, type ExpiryTimer } from './createExpiryTimer'
import type { ServerContext } from './ServerContext'

const timers = new WeakMap<ServerContext, ExpiryTimer<Connection>>()

/**
 * Remembers the token a stream opened with (so a revocation finds it) and
 * ends the stream with `token-expired` once the token's ttl runs out: the
 * client's reconnect then gets 401. One timer per server for every stream.
 */
export function trackStreamToken(
  ctx: ServerContext,
  connection: Connection,
  token: Connection['token'],
): void {
  connection.token = token
  if (token?.expiresAt === undefined || connection.closed) return
  let timer = timers.get(ctx)
  if (!timer) {
    timer = createExpiryTimer<Connection>({
      onExpire: (expired) => expired.close('token-expired'),
    })
    timers.set(ctx, timer)
  }
  timer.add(connection, token.expiresAt)
}

/** Forgets a closed stream's token deadline. */
export function untrackStreamToken(ctx: ServerContext, connection: Connection): void {
  if (connection.token?.expiresAt !== undefined) timers.get(ctx)?.delete(connection)
}
