import { formatCursor } from '@redisse/protocol'
import type { LogHead } from './broker/Broker'
import type { GuardedHub } from './createLogGuard'
import type { OutgoingEvent } from './OutgoingEvent'

/**
 * Serves every stream of a node whose log went backwards, once the new
 * epoch is in (`head`, undefined when its replacement failed): a reset,
 * then the events of the new log it has for the stream's channels
 * (`events`, in sequence order), then whatever the stream held. Returns
 * how far the node has the new log: the last of `events`, not the head
 * the replacement returned, for events published before it may still be
 * on their way on the bus (its reply can overtake them, on another
 * connection), and they come after these. A stream reset past them, or a
 * recovery that read from there, would skip them.
 */
export function resetToNewLog(
  hub: GuardedHub,
  head: LogHead | undefined,
  events: readonly OutgoingEvent[],
): number {
  const had = events.at(-1)?.seq ?? head?.seq ?? 0
  // First the reset: the stream's place in the old log is gone. Its id
  // names the place in the new epoch just before the new log's events
  // that follow (history holds them there, of whichever epoch), so a
  // stream cut meanwhile resumes with them.
  for (const connection of hub.connections) {
    if (connection.closed || connection.channels.size === 0) continue
    const first = events.find((e) => connection.channels.has(e.envelope.channel))
    const seq = first === undefined ? had : first.seq - 1
    const id = head?.epoch === undefined ? undefined : formatCursor({ epoch: head.epoch, seq })
    connection.reset({ channels: [...connection.channels], reason: 'epoch-changed' }, id)
    for (const event of events) {
      if (connection.channels.has(event.envelope.channel)) connection.replay(event)
    }
  }
  // Held streams write what they hold and what was just added, in order.
  hub.abandonRecovery()
  if (head !== undefined) {
    for (const connection of hub.connections) {
      if (connection.lastSeq < had && !connection.holding) connection.lastSeq = had
    }
    if (head.epoch !== undefined) hub.follow(head.epoch)
    hub.seen(had)
  }
  return had
}
