import { isRedisseError } from '@redisse/protocol'
import type { Connection } from './Connection'
import { type ReplayOutcome, replayHistory } from './replayHistory'
import type { Access } from './resolveAccess'
import type { ServerContext } from './ServerContext'
import { trackStreamToken } from './trackStreamToken'

/**
 * Subscribes a new connection of any transport to its channels and, with a
 * cursor, replays what it missed first (live events are held from before
 * the subscription until history is sent, so nothing falls between).
 * @returns the replay outcome (undefined without a cursor), false when the connection had to be closed
 */
export async function startDelivery(
  ctx: ServerContext,
  connection: Connection,
  access: Access,
  lastEventId: string | undefined,
): Promise<ReplayOutcome | undefined | false> {
  const { options, hub } = ctx
  trackStreamToken(ctx, connection, access.token)
  const resume = lastEventId !== undefined && options.history.enabled
  if (resume) connection.holdLive()
  try {
    await hub.attach(connection, access.channels)
    if (!resume) return undefined
    const outcome = await replayHistory(ctx.broker, hub, connection, lastEventId)
    options.logger.info('stream resumed', {
      conn: connection.id,
      from: lastEventId.slice(0, 100),
      replayed: outcome.replayed,
      ...(outcome.reset
        ? { reset: outcome.reset.reason, resetChannels: outcome.reset.channels.length }
        : {}),
    })
    return outcome
  } catch (err) {
    options.logger.error('cannot subscribe or replay stream channels', {
      conn: connection.id,
      err: String(err),
    })
    // The client reconnects and resumes from its cursor: nothing is lost.
    connection.close(
      isRedisseError(err, 'broker-unavailable') ? 'broker-unavailable' : 'write-error',
    )
    return false
  }
}
