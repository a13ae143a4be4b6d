import { formatCursor, parseEventId, RedisseError, type ResetEventData } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import type { Connection } from './Connection'
import { createHistoryPager, type ReplayPacing } from './createHistoryPager'
import type { Hub } from './createHub'
import { replayBudgetOf } from './replayBudget'

/** What a replay did, for logs and tests. */
export interface ReplayOutcome {
  replayed: number
  reset: ResetEventData | undefined
  /** The log's head when the replay ended: nothing of the connection's channels up to it is missing. */
  head: LogHead
  /** History pages read. */
  pages: number
}

/** What {@link replayHistory} needs. */
export interface ReplayRequest {
  broker: Broker
  hub: Hub
  connection: Connection
  lastEventId: string
  pacing: ReplayPacing
  /**
   * Per channel, the log position when it was granted (`<epoch>-<seq>`, token
   * mode): the replay of a channel never starts before it.
   */
  grantedAt?: Record<string, string> | undefined
}

/** Per channel of the cursor's epoch, the sequence its replay starts after at the earliest. */
function floorsOf(
  grantedAt: Record<string, string> | undefined,
  epoch: string,
): Map<string, number> | undefined {
  if (!grantedAt) return undefined
  const floors = new Map<string, number>()
  for (const [channel, at] of Object.entries(grantedAt)) {
    const dash = at.lastIndexOf('-')
    const seq = Number(at.slice(dash + 1))
    // Granted in an earlier log (or before any event): all of this one is after the grant.
    if (dash >= 0 && at.slice(0, dash) === epoch && Number.isSafeInteger(seq)) {
      floors.set(channel, seq)
    }
  }
  return floors
}

/**
 * Sends a reconnecting stream what it missed since `lastEventId`, across
 * all its channels, in publish order, then hands over to live delivery with
 * no gap and no duplicate (live frames are held from before history is
 * read, and merged into the pages that reach them). History is read a page
 * at a time, each written once the client took the one before, so a gap as
 * long as history holds costs a page of memory, and a client that stops
 * reading is cut off as a slow client. Channels whose missed events history
 * no longer holds get one `redisse:reset`; so does a cursor from another log
 * (epoch changed) or a malformed or future one, with the log's head as its
 * id so the client does not ask again.
 */
export async function replayHistory(request: ReplayRequest): Promise<ReplayOutcome> {
  const { broker, hub, connection, lastEventId, pacing } = request
  // Not from a log that went backwards since this node last looked. When
  // Redis cannot tell (the head read was lost with the connection), the
  // history read that follows may land on a promoted replica that lagged
  // and grew past the cursor under the same epoch: it would answer the new
  // log's events after it and skip those at reused sequences, with no
  // reset. The client retries instead.
  if (!(await hub.checkLog())) {
    throw new RedisseError(
      'broker-unavailable',
      'cannot check that Redis still holds the log this stream resumes in: retry shortly',
    )
  }
  const parsed = parseEventId(lastEventId)
  const resetAll = (reason: ResetEventData['reason'], at: LogHead): ReplayOutcome => {
    const reset: ResetEventData = { channels: [...connection.channels], reason }
    const id = at.epoch === undefined ? undefined : formatCursor({ epoch: at.epoch, seq: at.seq })
    connection.reset(reset, id)
    connection.goLive(at.seq)
    return { replayed: 0, reset, head: at, pages: 0 }
  }
  if (!parsed) {
    return resetAll('invalid-cursor', await replayBudgetOf(broker).run(() => broker.head()))
  }
  let { cursor } = parsed
  let epochReset: ResetEventData | undefined
  if (hub.isRetired(cursor.epoch)) {
    if (hub.servingNewLog()) {
      const head = await replayBudgetOf(broker).run(() => broker.head())
      // The node is about to reset every stream and send it the new log.
      connection.goLive(0)
      return { replayed: 0, reset: undefined, head, pages: 0 }
    }
    // The cursor names a place in a log that went backwards: the stream is
    // told, then replays the new log from its beginning (its events reused
    // sequences the client saw, so resuming at the head would skip them).
    const restart = hub.logRestart()
    if (restart?.epoch === undefined) {
      throw new RedisseError(
        'broker-unavailable',
        'the log went backwards and its new epoch is not in place yet: retry shortly',
      )
    }
    epochReset = { channels: [...connection.channels], reason: 'epoch-changed' }
    connection.reset(epochReset, formatCursor({ epoch: restart.epoch, seq: restart.seq }))
    cursor = { epoch: restart.epoch, seq: restart.seq }
  }
  const pager = createHistoryPager(broker, {
    from: cursor.seq,
    floors: floorsOf(request.grantedAt, cursor.epoch),
    pageBytes: pacing.pageBytes,
  })
  let replayed = 0
  let pages = 0
  const gaps = new Set<string>()
  let reached: LogHead = { epoch: cursor.epoch, seq: cursor.seq }
  let caughtUp = false
  connection.replaying = true
  try {
    while (connection.wantsReplay) {
      if (!(await connection.waitWritable(pacing.lowWater, pacing.stallMs))) break
      if (!connection.wantsReplay) break
      const page = await pager.next([...connection.channels])
      pages += 1
      // The first page also checks the cursor: a cursor of another log (or
      // of this one, lost while the replay ran) or from the future resumes
      // nothing.
      const future = pages === 1 && page.epoch === cursor.epoch && cursor.seq > page.head
      if (page.epoch !== cursor.epoch || future) {
        connection.replaying = false
        const at = { epoch: page.epoch, seq: page.head }
        const outcome = resetAll(future ? 'invalid-cursor' : 'epoch-changed', at)
        return { ...outcome, pages }
      }
      // The cursor names a place in this log: the client has every event
      // up to it. A live one held from before this page (heard late by
      // this node, while the client had it from another) is not its due.
      if (pages === 1 && cursor.seq > connection.lastSeq) connection.lastSeq = cursor.seq
      if (page.gaps.length > 0) {
        connection.reset({ channels: page.gaps, reason: 'history-gap' })
        for (const channel of page.gaps) gaps.add(channel)
      }
      replayed += connection.replayPage(page.envelopes.map(hub.outgoing), page.through)
      reached = { epoch: page.epoch, seq: page.through }
      // Done once history is read up to its head and past every live event
      // let go meanwhile; the held ones after it follow at goLive.
      if (page.complete && page.head >= connection.heldDropped) {
        if (!connection.recoveryPending) {
          caughtUp = true
          break
        }
        connection.recoveryPending = false
      }
    }
  } finally {
    connection.replaying = false
  }
  connection.goLive(caughtUp ? reached.seq : connection.lastSeq)
  return {
    replayed,
    reset: gaps.size > 0 ? { channels: [...gaps], reason: 'history-gap' } : epochReset,
    head: reached,
    pages,
  }
}
