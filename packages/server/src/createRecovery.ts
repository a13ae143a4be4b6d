import type { Envelope } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import type { Connection } from './Connection'
import {
  createHistoryPager,
  type HistoryPager,
  type PagerPage,
  type ReplayPacing,
  replayPacing,
} from './createHistoryPager'
import type { HubCounters } from './createHubCounters'
import type { Logger } from './createLogger'
import type { OutgoingEvent } from './OutgoingEvent'

/** Tries of one history read of the recovery after a bus outage before its streams are ended. */
const RECOVERY_READ_ATTEMPTS = 3
/** Wait before the next try of a failed recovery read, times the tries so far, ms. */
const RECOVERY_RETRY_MS = 200

/** What a node sends its streams after a bus loss, and what it holds meanwhile. */
export interface Recovery {
  /** Raises the newest sequence received (where a later recovery reads from). */
  seen(seq: number): void
  /** Forgets the newest sequence: the log it belonged to went backwards. */
  forget(): void
  /** Records the epoch of the newest envelope received: a recovery page of another log stops there. */
  follow(epoch: string): void
  /** Holds the live frames of a stream that opens while a recovery is due. */
  admit(connection: Connection): void
  /** Forgets a closed stream. */
  drop(connection: Connection): void
  /** Whether the connection's live frames wait for the recovery. */
  isHeld(connection: Connection): boolean
  /** Whether a bus loss is not recovered yet. */
  recovering(): boolean
  /** Bus losses so far. */
  losses(): number
  /** Ends a recovery in progress, if any: nothing more is read; streams write what they hold, in order. */
  abandon(): void
  /** The bus subscription is gone: remembers the newest event received and holds live frames on every stream. */
  busLost(): void
  /** After the bus subscription came back: sends every stream what it missed from history, then releases the holds. */
  recover(): Promise<void>
}

/**
 * Builds the recovery of a node after its bus subscription was lost: live
 * frames are held on every stream until the events missed meanwhile were
 * read from history (paged, paced, retried) and sent, in order and once.
 */
export function createRecovery(options: {
  broker: Broker
  logger: Logger
  connections: Iterable<Connection>
  /** Channels with local listeners. */
  channels: () => string[]
  /** Writes what is queued for delivery now. */
  flush: () => void
  /** Logs a write to a stream that threw. */
  failed: (connection: Connection, err: unknown) => void
  outgoing: (envelope: Envelope) => OutgoingEvent
  counters: HubCounters
  /**
   * Checks Redis still holds what the node saw: `went-back` when the log
   * went backwards (the guard took the streams over), `unchecked` when
   * Redis could not be read.
   */
  checkLog: () => Promise<'held' | 'went-back' | 'unchecked'>
  /** Page size and write pacing of the recovery after a bus outage. */
  pacing?: ReplayPacing | undefined
}): Recovery {
  const { broker, logger, connections, counters, outgoing } = options
  let lastSeen = 0
  // Set while the bus is away or recovery has not finished: the newest
  // sequence received before the loss, where recovery reads history from.
  let recoverFrom: number | undefined
  // Bumped by every bus loss: a recovery that started before the latest
  // loss leaves the streams to the recovery after it.
  let losses = 0
  // Streams whose live frames wait for the recovery (one hold each).
  const heldForRecovery = new Set<Connection>()
  const releaseRecoveryHolds = () => {
    recoverFrom = undefined
    for (const connection of [...heldForRecovery]) {
      onStream(connection, () => connection.goLive(connection.lastSeq))
    }
    heldForRecovery.clear()
  }
  const holdForRecovery = (connection: Connection) => {
    if (heldForRecovery.has(connection) || connection.closed) return
    heldForRecovery.add(connection)
    connection.holdLive()
  }
  // Epoch of the newest envelope received: a recovery page of another log stops there.
  let currentEpoch: string | undefined

  const busLost = () => {
    options.flush()
    losses += 1
    recoverFrom ??= lastSeen
    for (const connection of connections) holdForRecovery(connection)
  }

  // One stream's failure to take a recovered page (an event it cannot
  // encode, from a custom broker) ends that stream, not the recovery of the
  // others: its client reconnects and resumes from its cursor.
  const onStream = (connection: Connection, work: () => void): void => {
    try {
      work()
    } catch (err) {
      options.failed(connection, err)
      connection.close('write-error')
    }
  }

  // A history read of the recovery that fails is tried again a few times
  // (a timeout or a reconnect in between is often transient) before the
  // streams are given up on.
  const readPage = async (pager: HistoryPager, loss: number): Promise<PagerPage | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await pager.next(options.channels())
      } catch (err) {
        logger.error('cannot read history to recover missed events', {
          attempt,
          of: RECOVERY_READ_ATTEMPTS,
          err: String(err),
        })
        if (attempt >= RECOVERY_READ_ATTEMPTS || loss !== losses || broker.state !== 'ready') {
          return undefined
        }
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS * attempt))
        if (loss !== losses) return undefined
      }
    }
  }

  const recover = async (): Promise<void> => {
    if (recoverFrom === undefined) return
    // A failover may have brought back less than this node saw. A check
    // that cannot read Redis is tried again, as history reads are: the
    // streams stay held meanwhile, so a log found gone backwards then is
    // served with what they missed.
    const checkedAt = losses
    let found = await options.checkLog()
    for (let attempt = 1; found === 'unchecked' && attempt < RECOVERY_READ_ATTEMPTS; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS * attempt))
      if (checkedAt !== losses || broker.state !== 'ready') return
      found = await options.checkLog()
    }
    if (found === 'went-back' || recoverFrom === undefined) return
    const since = recoverFrom
    const loss = losses
    const streams = [...heldForRecovery]
    const pacing = options.pacing ?? replayPacing(256 * 1024, 30_000)
    // A stream that holds no room for a page is cut sooner than in its own
    // replay: every stream's live events wait for this one.
    const stallMs = Math.min(pacing.stallMs, 5000)
    let complete = false
    let recovered = 0
    try {
      const pager = createHistoryPager(broker, { from: since, pageBytes: pacing.pageBytes })
      for (;;) {
        // Unchecked, the log may have gone backwards under the same epoch:
        // read from `since`, it would skip the sequences it reused. The
        // streams end instead, and their replays check again.
        const page = found === 'unchecked' ? undefined : await readPage(pager, loss)
        if (loss !== losses || !page) break
        // A new log: the epoch change already reset every stream.
        if (currentEpoch !== undefined && page.epoch !== currentEpoch) {
          complete = true
          break
        }
        const byCh = new Map<string, OutgoingEvent[]>()
        for (const envelope of page.envelopes) {
          const list = byCh.get(envelope.channel)
          if (list) list.push(outgoing(envelope))
          else byCh.set(envelope.channel, [outgoing(envelope)])
        }
        const gaps = new Set(page.gaps)
        let dropped = 0
        for (const connection of streams) {
          if (connection.closed) continue
          // Its own replay, still running, reads what was missed too.
          if (connection.replaying) {
            connection.recoveryPending = true
            continue
          }
          onStream(connection, () => {
            const gapped = [...connection.channels].filter((channel) => gaps.has(channel))
            if (gapped.length > 0) connection.reset({ channels: gapped, reason: 'history-gap' })
            const due: OutgoingEvent[] = []
            for (const channel of connection.channels) due.push(...(byCh.get(channel) ?? []))
            due.sort((a, b) => a.seq - b.seq)
            const sent = connection.replayPage(due, page.through)
            recovered += sent
            counters.recovered += sent
          })
          if (connection.heldDropped > dropped) dropped = connection.heldDropped
        }
        if (page.complete && page.head >= dropped) {
          complete = true
          break
        }
        await Promise.all(
          streams.map((connection) =>
            connection.replaying ? true : connection.waitWritable(pacing.lowWater, stallMs),
          ),
        )
        if (loss !== losses) break
      }
      if (complete) {
        logger.warn('recovered events missed while the bus was away', { since, events: recovered })
      }
    } catch (err) {
      logger.error('cannot recover missed events from history', { err: String(err) })
    }
    // A bus lost again meanwhile keeps every stream held for the next recovery.
    if (loss !== losses || broker.state !== 'ready') return
    if (!complete) {
      // What was missed cannot be read now, but history may well still hold
      // it: the streams end, and their clients reconnect and resume from
      // their cursors (a reset would cost each of them a refetch, and claim
      // a loss that may not be).
      // A stream in its own replay reads once more instead (and is ended
      // by it if that read fails too).
      for (const connection of [...heldForRecovery]) {
        if (connection.replaying) connection.recoveryPending = true
        else connection.close('broker-unavailable')
      }
    }
    releaseRecoveryHolds()
  }

  return {
    seen(seq) {
      if (seq > lastSeen) lastSeen = seq
    },
    forget() {
      lastSeen = 0
    },
    follow(epoch) {
      currentEpoch = epoch
    },
    admit(connection) {
      if (recoverFrom !== undefined) holdForRecovery(connection)
    },
    drop(connection) {
      heldForRecovery.delete(connection)
    },
    isHeld: (connection) => heldForRecovery.has(connection),
    recovering: () => recoverFrom !== undefined,
    losses: () => losses,
    abandon() {
      if (recoverFrom === undefined) return
      losses += 1
      releaseRecoveryHolds()
    },
    busLost,
    recover,
  }
}
