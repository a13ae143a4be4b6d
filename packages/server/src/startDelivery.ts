import { isRedisseError } from '@redisse/protocol'
import type { AdmittedAccess } from './admitConnection'
import { applySubjectEdit } from './applySubjectEdit'
import type { Connection } from './Connection'
import { replayPacing } from './createHistoryPager'
import { type ReplayOutcome, replayHistory } from './replayHistory'
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
  access: AdmittedAccess,
  lastEventId: string | undefined,
): Promise<ReplayOutcome | undefined | false> {
  const { options, hub } = ctx
  // Closed before it could join (the client left during the handshake):
  // joining now would hold subscriptions and a place nobody frees.
  if (connection.closed) {
    access.reservation.release()
    return false
  }
  trackStreamToken(ctx, connection, access.token)
  const resume = lastEventId !== undefined && options.history.enabled
  if (resume) {
    connection.holdLive()
    // From now on the node's recovery after a bus loss leaves what it reads
    // to this replay: written now, before the replay sent anything, events
    // the client already has would pass for new (a poll's answer repeated
    // those of the answer before).
    connection.replaying = true
  }
  try {
    const attaching = hub.attach(connection, access.channels, resume ? lastEventId : undefined)
    // Edits of the subject that arrived while it was admitted (its channel
    // list read, not yet among the subject's connections) are applied now,
    // in the same step as joining, so none falls in between.
    const missed = access.reservation.attached(connection)
    if (missed.length > 0) {
      const self = { ...hub, connectionsOf: () => [connection] }
      for (const edit of missed) applySubjectEdit(self, edit, options)
    }
    await attaching
    if (!resume) return undefined
    const replay = {
      connection,
      lastEventId,
      pacing: replayPacing(options.limits.bufferBytes, options.limits.stallTimeout),
      grantedAt: access.grantedAt,
    }
    const outcome = hub.replay
      ? await hub.replay(replay)
      : await replayHistory({ ...replay, broker: ctx.broker, hub })
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
    // The client reconnects and resumes from its cursor: nothing is lost.
    connection.close(
      isRedisseError(err, 'broker-unavailable') ? 'broker-unavailable' : 'write-error',
    )
    return false
  } finally {
    connection.replaying = false
  }
}
