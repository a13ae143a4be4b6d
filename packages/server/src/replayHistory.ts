import { type Envelope, formatCursor, parseEventId, type ResetEventData } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import type { Connection } from './Connection'
import type { Hub } from './createHub'

/** What a replay did, for logs and tests. */
export interface ReplayOutcome {
  replayed: number
  reset: ResetEventData | undefined
  /** The log's head when the replay read it: nothing of the connection's channels up to it is missing. */
  head: LogHead
}

/**
 * Sends a reconnecting stream what it missed since `lastEventId`, across
 * all its channels, in publish order, then hands over to live delivery with
 * no gap and no duplicate (live frames were held since before history was
 * read). Channels whose missed events history no longer holds get one
 * `redisse:reset`; so does a cursor from another log (epoch changed) or a
 * malformed or future one, with the log's head as its id so the client does
 * not ask again.
 */
export async function replayHistory(
  broker: Broker,
  hub: Hub,
  connection: Connection,
  lastEventId: string,
): Promise<ReplayOutcome> {
  const channels = [...connection.channels]
  // Not from a log that went backwards since this node last looked.
  await hub.checkLog()
  const head = await broker.head()
  const parsed = parseEventId(lastEventId)
  const headId =
    head.epoch === undefined ? undefined : formatCursor({ epoch: head.epoch, seq: head.seq })
  const resetAll = (reason: ResetEventData['reason']): ReplayOutcome => {
    const reset: ResetEventData = { channels, reason }
    connection.reset(reset, headId)
    connection.goLive(head.seq)
    return { replayed: 0, reset, head }
  }
  if (!parsed) return resetAll('invalid-cursor')
  const { cursor } = parsed
  if (hub.isRetired(cursor.epoch) && hub.servingNewLog()) {
    // The node is about to reset every stream and send it the new log.
    connection.goLive(0)
    return { replayed: 0, reset: undefined, head }
  }
  if (head.epoch === undefined || cursor.epoch !== head.epoch || hub.isRetired(cursor.epoch)) {
    return resetAll('epoch-changed')
  }
  if (cursor.seq > head.seq) return resetAll('invalid-cursor')

  const histories = await broker.histories(channels, cursor.seq)
  const gaps: string[] = []
  const missed: Envelope[] = []
  histories.forEach((history, i) => {
    if (history.covered) missed.push(...history.envelopes)
    else gaps.push(channels[i] ?? '')
  })
  let reset: ResetEventData | undefined
  if (gaps.length > 0) {
    reset = { channels: gaps, reason: 'history-gap' }
    connection.reset(reset)
  }
  for (const envelope of missed) connection.replay(hub.outgoing(envelope))
  connection.goLive(cursor.seq)
  return { replayed: missed.length, reset, head }
}
