import type { SubjectEdit } from './broker/Broker'
import type { Hub } from './createHub'
import type { ResolvedOptions } from './options'

/**
 * Applies a live channel-list edit to the subject's open streams on this
 * node: added channels are heard from now on, removed ones at once, and a
 * stream whose list becomes empty (or whose subject was cleared) ends.
 */
export function applySubjectEdit(
  hub: Pick<Hub, 'connectionsOf' | 'addChannel' | 'removeChannel'>,
  edit: SubjectEdit,
  options: ResolvedOptions,
): void {
  if (edit.op === 'revoke') {
    // Only the streams of that one token: the subject's others stay open.
    for (const connection of hub.connectionsOf(edit.subject)) {
      if (connection.token?.hash === edit.tokenHash) connection.close('token-revoked')
    }
    return
  }
  for (const connection of hub.connectionsOf(edit.subject)) {
    if (edit.op === 'clear') {
      connection.close('channels-revoked')
    } else if (edit.op === 'remove') {
      hub.removeChannel(connection, edit.channel)
      if (connection.channels.size === 0) connection.close('channels-revoked')
    } else if (connection.channels.size < options.limits.channelsPerConnection) {
      void hub.addChannel(connection, edit.channel).catch((err: unknown) => {
        options.logger.error('cannot add channel to stream', {
          conn: connection.id,
          err: String(err),
        })
      })
    } else {
      options.logger.warn('channel not added: stream at limits.channelsPerConnection', {
        conn: connection.id,
        channel: edit.channel,
      })
    }
  }
}
