import { type Envelope, epochOf, formatCursor, newEpoch } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import type { Connection } from './Connection'
import { createEnvelopeConfirm, type Doubt } from './createEnvelopeConfirm'
import { createForgeryCheck } from './createForgeryCheck'
import type { Logger } from './createLogger'
import { createLogWatch, type LogVerdict } from './createLogWatch'
import type { OutgoingEvent } from './OutgoingEvent'
import { readMissedEvents } from './readMissedEvents'
import { resetToNewLog } from './resetToNewLog'
import { withGuardDeadline as bounded } from './withGuardDeadline'

/** What the guard needs of the hub. */
export interface GuardedHub {
  readonly connections: Iterable<Connection>
  /** Channels with local listeners. */
  channels(): string[]
  /** Queues a bus envelope for the local streams of its channel. */
  deliver(envelope: Envelope, seq: number): void
  /** Writes what is queued now. */
  flush(): void
  /** An envelope as an event for streams. */
  outgoing(envelope: Envelope): OutgoingEvent
  /** Whether the connection's live frames wait for the node's recovery (not for its own replay). */
  heldForRecovery(connection: Connection): boolean
  /** Ends a recovery in progress: nothing more is read; streams write what they hold, in order. */
  abandonRecovery(): void
  /** Whether a bus loss is not recovered yet. */
  recovering(): boolean
  /** Bus losses so far. */
  losses(): number
  /** Raises the newest sequence of the log followed (where a later recovery reads from). */
  seen(seq: number): void
  /** Forgets the newest sequence: the log it belonged to went backwards. */
  forget(): void
  /** Records the epoch in force: a later recovery reads its log, and stops at another. */
  follow(epoch: string): void
  /** Files a bus envelope as if it came now (it waited for the one before it to be confirmed). */
  receive(envelope: Envelope): void
  /** Counts an envelope dropped because the log never reached its sequence. */
  dropForged(envelope: Envelope): void
}

/**
 * What a check of the log found: `held` (Redis holds what the node saw, or
 * there was nothing to check), `went-back` (the guard took the streams
 * over), or `unchecked` (Redis could not be read: nothing is known).
 */
export type LogCheck = 'held' | 'went-back' | 'unchecked'

/** Detects a log that went backwards and turns it into a new epoch. */
export interface LogGuard {
  /** Files an envelope from the bus: `queued` when the guard delivers it itself, later. */
  onEnvelope(envelope: Envelope, seq: number): LogVerdict | 'queued'
  /**
   * Checks that Redis still holds the newest event this node received
   * (run after a bus loss, and before a replay reads the log). Never rejects.
   */
  check(): Promise<LogCheck>
  /** True for an epoch whose log went backwards: its cursors name no place in the log. */
  isRetired(epoch: string): boolean
  /**
   * The envelope as an event of the log in force: one of a retired epoch
   * (published to the new log before its epoch was replaced, and received
   * live, queued meanwhile or read from history) gets the id of its
   * sequence in the epoch that replaced it, where history holds it. Under
   * its own id, a stream that resumed from it would be taken for one of the
   * lost log: a second reset, and the new log again from its beginning.
   */
  adopt(envelope: Envelope): Envelope
  /** True while the streams of a log that went backwards are still to be served (reset, then the new log). */
  serving(): boolean
  /**
   * Where the new log begins, in its epoch, after a log that went
   * backwards: just before the first event this node knows of it. A cursor
   * of the retired epoch resumes from here, after a reset. Undefined while
   * the new epoch is not in place (its replacement failed: retried at the
   * next check).
   */
  restartPoint(): LogHead | undefined
}

/**
 * Guards a node against a log that went backwards: Redis failed over to a
 * replica that lagged, so sequences streams already saw are handed out
 * again to other events, under the same epoch. Every stream would drop
 * those as duplicates, and every cursor of the lost events would resume at
 * a place the new log reused.
 *
 * Signs: an envelope at or before a sequence the bus already delivered, a
 * head behind it, or the newest event received missing from history after
 * a bus loss. Then the node replaces the epoch in Redis (guarded, so
 * concurrent nodes agree on one), sends every stream the new log's events
 * it has not seen (live ones held meanwhile, and after a bus loss those
 * history holds from after the newest event it had), then `redisse:reset`
 * with a cursor of the new epoch; new events follow. Cursors of the old
 * epoch get a reset wherever they come back.
 *
 * Any process that can PUBLISH on Redis can put a well-formed envelope on
 * the bus: one that would make the node act (far ahead of the log, at a
 * sequence already heard, of an unexpected epoch) is first confirmed
 * against Redis (createForgeryCheck), the envelopes after it held
 * meanwhile (createEnvelopeConfirm).
 */
export function createLogGuard(options: {
  broker: Broker
  logger: Logger
  hub: GuardedHub
}): LogGuard {
  const { broker, logger, hub } = options
  const watch = createLogWatch()
  const { holds, replaceEpoch } = broker
  // Brokers whose log cannot go backwards (embedded) need no guard.
  const guarded = holds !== undefined && replaceEpoch !== undefined
  // Set while the epoch is being replaced: envelopes wait here, in order.
  let queue: Envelope[] | undefined
  // Heard meanwhile (or while a regression seen with the bus away waits to
  // be served), of an epoch neither followed nor retired: filed again once
  // the replacement is in and the streams are served. Taken as they came, the first would pass
  // for the replacement (a forged one too, and the next real event would
  // reset every stream again). Those of the epoch followed still join the
  // queue after them: a real event of a new epoch comes after all of the
  // old on the bus, and one the queue holds is sent with the reset, which
  // one filed after it could come too late for (taken for a duplicate).
  let aside: Envelope[] = []
  // A regression seen while the bus was away, handled once it is back.
  let deferred:
    | { sign: string; tip: Envelope | undefined; swap: Promise<LogHead | undefined> }
    | undefined
  // An epoch whose replacement failed, retried at the next check.
  let unreplaced: string | undefined
  let checking: Promise<LogCheck> | undefined
  // Where the new log begins (see restartPoint), and the lowest sequence of
  // its events this node knows, for a replacement that succeeds later.
  let restart: LogHead | undefined
  let firstNewSeq: number | undefined
  const restartFrom = (head: LogHead) => {
    if (head.epoch === undefined) return
    restart = { epoch: head.epoch, seq: firstNewSeq === undefined ? head.seq : firstNewSeq - 1 }
  }
  let checkedAtLoss = -1
  const confirming = createEnvelopeConfirm({ logger, hub })
  const forgery = createForgeryCheck({ broker, watch })

  const doubtOf = (envelope: Envelope, seq: number): Doubt | undefined => {
    if (!guarded || queue !== undefined || deferred !== undefined) return undefined
    if (confirming.passes(envelope)) return undefined
    return forgery.doubtOf(envelope, seq)
  }

  const replace = async (from: string): Promise<LogHead | undefined> => {
    if (!replaceEpoch) return undefined
    try {
      const head = await bounded(replaceEpoch.call(broker, from, newEpoch()), 'replace the epoch')
      watch.replaced(from, head)
      unreplaced = undefined
      restartFrom(head)
      return head.epoch === undefined ? undefined : head
    } catch (err) {
      unreplaced = from
      logger.error('cannot replace the epoch of a log that went backwards', { err: String(err) })
      return undefined
    }
  }

  const finish = (head: LogHead | undefined, missed: Envelope[]) => {
    const queued = queue ?? []
    queue = undefined
    // Live events that came before the replacement belong to the new log
    // as much as those history holds from while the node was away.
    const ids = new Set<string>()
    const events = [
      ...missed,
      ...queued.filter((e) => head === undefined || epochOf(e) !== head.epoch),
    ]
      .filter((e) => !ids.has(e.id) && ids.add(e.id))
      .map((e) => hub.outgoing(e))
      .sort((a, b) => a.seq - b.seq)
    if (events[0] !== undefined) firstNewSeq = events[0].seq
    if (head !== undefined) restartFrom(head)
    resetToNewLog(hub, head, events)
    for (const envelope of queued) hub.deliver(envelope, seqOfId(envelope.id))
    const later = aside
    aside = []
    for (const envelope of later) hub.receive(envelope)
  }

  // `tip`: the newest event received of the log that went backwards;
  // `replaced`: its epoch, when the watch already follows the new one.
  const wentBack = (sign: string, tip: Envelope | undefined, replaced?: string) => {
    const from = replaced ?? watch.epoch
    if (queue !== undefined || deferred !== undefined || from === undefined) return
    if (replaced === undefined) watch.regressed()
    firstNewSeq = undefined
    restart = undefined
    logger.warn(
      'the log went backwards (a failover to a replica that lagged?): replacing its epoch',
      {
        epoch: from,
        sign,
      },
    )
    hub.flush()
    hub.forget()
    // What streams get from now on comes from the new log, under reused sequences.
    for (const connection of hub.connections) connection.lastSeq = 0
    const swap = replace(from)
    // The bus is away (streams are held): they are served once it is back.
    if (broker.state !== 'ready') deferred = { sign, tip, swap }
    else serve(tip, swap)
  }

  const serve = (tip: Envelope | undefined, swap: Promise<LogHead | undefined>) => {
    const recovering = hub.recovering()
    for (const connection of [...hub.connections]) {
      // Its own replay read the old log: it reconnects and is reset then.
      if (connection.holding && !hub.heldForRecovery(connection)) connection.close('write-error')
    }
    queue = []
    void (async () => {
      const head = await swap
      const missed = recovering
        ? await readMissedEvents({ broker, channels: hub.channels(), tip, logger })
        : []
      finish(head, missed)
    })()
  }

  // A regression seen while the bus was away, served once it is back (a
  // check already in flight when it came back must not skip it).
  const serveDeferred = (): boolean => {
    if (deferred === undefined || broker.state !== 'ready') return false
    const { tip, swap } = deferred
    deferred = undefined
    serve(tip, swap)
    return true
  }

  const run = async (): Promise<LogCheck> => {
    const found = await inspect()
    return serveDeferred() ? 'went-back' : found
  }

  const taken = (): LogCheck => (queue === undefined ? 'held' : 'went-back')

  const inspect = async (): Promise<LogCheck> => {
    const loss = hub.losses()
    const epoch = watch.epoch
    const tip = watch.tip
    const high = watch.high
    if (epoch === undefined || queue !== undefined || !holds) return taken()
    if (deferred !== undefined) return 'held'
    try {
      if (unreplaced !== undefined) await replace(unreplaced)
      const head = await forgery.readHead()
      let back = watch.behind(head, high)
      // Also under an epoch another node put in place after seeing the
      // regression first: this node's streams still have to be served.
      if (!back && tip !== undefined && head.epoch !== undefined) {
        back = (await bounded(holds.call(broker, tip), 'read history')) === false
      }
      if (watch.epoch !== epoch || queue !== undefined) return taken()
      if (!back) {
        checkedAtLoss = loss
        return 'held'
      }
      wentBack(tip ? `event ${tip.id} of ${tip.channel} is not in history` : 'head', tip)
      return taken()
    } catch (err) {
      logger.warn('cannot check that the log still holds what this node saw', { err: String(err) })
      // Not 'held': a reader that went on would read a log that may have
      // gone backwards under the same epoch (a promoted replica that lagged
      // and has grown past the cursor since) and skip its reused sequences.
      return 'unchecked'
    }
  }

  return {
    onEnvelope(envelope, seq) {
      if (confirming.hold(envelope)) return 'queued'
      if ((queue !== undefined || deferred !== undefined) && forgery.unexpected(envelope)) {
        aside.push(envelope)
        return 'queued'
      }
      const doubt = doubtOf(envelope, seq)
      if (doubt !== undefined) {
        confirming.start(envelope, doubt, () => forgery.forged(envelope, seq, doubt))
        return 'queued'
      }
      const tip = watch.tip
      const from = watch.epoch
      const verdict = watch.envelope(envelope, seq)
      if (!guarded) return verdict === 'regressed' ? 'next' : verdict
      if (verdict === 'regressed') {
        wentBack(`event ${envelope.id} of ${envelope.channel} came again`, tip)
      } else if (verdict === 'changed' && hub.recovering() && tip !== undefined) {
        // The epoch changed while this node was away (another node saw the
        // log go backwards, or Redis lost its data): serve its streams the
        // new log's events from history, as if it had seen it itself.
        wentBack(`epoch ${epochOf(envelope)} replaced ${from} meanwhile`, tip, from)
        if (queue === undefined) return 'next'
      }
      if (queue === undefined) return verdict === 'regressed' ? 'next' : verdict
      queue.push(envelope)
      return 'queued'
    },
    check() {
      if (!guarded) return Promise.resolve('held')
      // A replacement that failed is tried again at every check until it holds.
      const quiet = deferred === undefined && unreplaced === undefined
      if (!hub.recovering() && quiet && checkedAtLoss === hub.losses()) {
        return Promise.resolve('held')
      }
      checking ??= run().finally(() => {
        checking = undefined
      })
      return checking
    },
    isRetired(epoch) {
      return watch.isRetired(epoch)
    },
    adopt(envelope) {
      // Called for every envelope: no id is read before a log went backwards.
      if (!guarded || !watch.hasRetired()) return envelope
      const successor = watch.successorOf(epochOf(envelope))
      if (successor === undefined) return envelope
      return { ...envelope, id: formatCursor({ epoch: successor, seq: seqOfId(envelope.id) }) }
    },
    restartPoint() {
      return unreplaced === undefined ? restart : undefined
    },
    serving() {
      return deferred !== undefined || queue !== undefined
    },
  }
}

function seqOfId(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1))
}
