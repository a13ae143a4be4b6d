import type { Connection } from './Connection'
import { replayPacing } from './createHistoryPager'
import { type ReplayOutcome, replayHistory } from './replayHistory'
import type { Access } from './resolveAccess'
import type { ServerContext } from './ServerContext'

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
  const resume = lastEventId !== undefined && options.history.enabled
  if (resume) connection.holdLive()
  try {
    await hub.attach(connection, access.channels)
    if (!resume) return undefined
    const outcome = await replayHistory({
      broker: ctx.broker,
      hub,
      connection,
      lastEventId,
      pacing: replayPacing(options.limits.bufferBytes, options.limits.stallTimeout),
      grantedAt: access.grantedAt,
    })
    options.logger.info('stream resumed', {
      conn: connection.id,
      from: lastEventId.slice(0, 100),
      replayed: outcome.replayed,
      pages: outcome.pages,
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
    connection.close('write-error')
    return false
  }
}
