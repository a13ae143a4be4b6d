import { type Envelope, epochOf, formatCursor, newEpoch } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import { withDeadline } from './broker/withDeadline'
import type { Connection } from './Connection'
import { createEnvelopeConfirm, type Doubt } from './createEnvelopeConfirm'
import { createHistoryPager, PAGE_BYTES } from './createHistoryPager'
import type { Logger } from './createLogger'
import { createLogWatch, type LogVerdict } from './createLogWatch'
import type { OutgoingEvent } from './OutgoingEvent'

/** Longest wait for one Redis read or the epoch replacement, ms. */
const GUARD_TIMEOUT = 2000
/** Most events of the new log sent after a regression before the streams get the reset alone. */
const MAX_MISSED = 10_000
/** Most history pages read for them. */
const MAX_PAGES = 1000
/**
 * How far past the newest sequence known of the log (heard or read) an
 * envelope may come before Redis is asked whether its log got that far.
 * Gaps are normal (the node hears only its channels): past this one, each
 * heard event costs a head read, and holds live delivery for it.
 */
const CONFIRM_AHEAD = 1000

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

// Each read or write of the guard gives up within GUARD_TIMEOUT, as every broker call does.
const bounded = <T>(promise: Promise<T>, what: string): Promise<T> =>
  withDeadline(promise, { what, ms: GUARD_TIMEOUT })

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
 * against Redis, the envelopes after it held meanwhile (see
 * createEnvelopeConfirm).
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
  // Heard meanwhile, of an epoch neither followed nor retired, and all
  // after them: filed again once the replacement is in. Taken as they
  // came, the first would pass for the replacement (a forged one too, and
  // the next real event would reset every stream again).
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
  // The newest head read.
  let known: LogHead = { epoch: undefined, seq: 0 }
  const confirming = createEnvelopeConfirm({ logger, hub })

  // A well-formed envelope far past the head that never went through the
  // publish script (a hostile or broken bus peer) would raise the mark the
  // next real events are held against: they would pass for a log that went
  // backwards, and every stream would be reset. Past CONFIRM_AHEAD, the
  // head is read first: a log of its epoch that did not get that far never
  // held it.
  const farAhead = (envelope: Envelope, seq: number): boolean => {
    const of = epochOf(envelope)
    if (watch.epoch !== undefined && of !== watch.epoch) return false
    const high = watch.epoch === of ? watch.high : 0
    return seq > Math.max(high, known.epoch === of ? known.seq : 0) + CONFIRM_AHEAD
  }

  // Acted on as they come, an envelope at a past sequence replaces the
  // epoch for every node, and one of another epoch resets every stream of
  // this one: both are confirmed against Redis first.
  const doubtOf = (envelope: Envelope, seq: number): Doubt | undefined => {
    if (!guarded || queue !== undefined || deferred !== undefined) return undefined
    if (confirming.passes(envelope)) return undefined
    if (farAhead(envelope, seq)) return 'ahead'
    // Awaited as the replacement of an epoch that went backwards, another
    // epoch is one only if Redis shows it in force (the replacement of
    // this node failed, and another node's came).
    if (unexpected(envelope)) return 'epoch'
    return watch.verdict(envelope, seq) === 'regressed' ? 'past' : undefined
  }

  const unexpected = (envelope: Envelope): boolean => {
    const of = epochOf(envelope)
    return watch.epoch !== undefined && of !== watch.epoch && !watch.isRetired(of)
  }

  const readHead = async (): Promise<LogHead> => {
    known = await bounded(broker.head(), 'read the log head')
    return known
  }

  // True when Redis shows the publish script never wrote `envelope`.
  const forged = async (envelope: Envelope, seq: number, doubt: Doubt): Promise<boolean> => {
    const of = epochOf(envelope)
    const { epoch, high, tip } = watch
    if (doubt === 'ahead') {
      const head = await readHead()
      if (head.epoch === of && head.seq < seq) return true
      if (head.epoch !== of) known = { epoch: of, seq }
      return false
    }
    // Whatever epoch the head shows other than the one followed, the log was replaced.
    if (doubt === 'epoch') return (await readHead()).epoch === epoch
    const inHistory = (e: Envelope | undefined) =>
      e === undefined || !holds
        ? Promise.resolve(undefined)
        : bounded(holds.call(broker, e), 'read history')
    const [head, found, kept] = await Promise.allSettled([
      readHead(),
      inHistory(envelope),
      inHistory(tip),
    ])
    // Behind what the bus delivered, or replaced by another node: it did go backwards.
    const back = (h: LogHead) => h.epoch !== epoch || h.seq < high
    if (head.status === 'fulfilled' && back(head.value)) return false
    // The newest event heard is gone from its place: the log did go
    // backwards, whatever this envelope is. Still there, exactly, the log
    // lost nothing, so it handed out no sequence again: this is a copy of
    // an event heard (which history holds too, so it alone cannot tell) or
    // a forgery.
    if (kept.status === 'fulfilled' && kept.value !== undefined) return kept.value
    // Held exactly: the log handed out its sequence again. Another event
    // there, or none where there should be one: no publish script wrote it.
    if (found.status === 'rejected') throw found.reason
    return found.value === false
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

  // Events of the new log this node missed while away: those history
  // holds that were published after the newest event it had received. Its
  // sequences may lie below what the node saw, so the read starts at 0; it
  // is paged, and bounded: past MAX_MISSED the streams get the reset only.
  const missedSince = async (tip: Envelope | undefined): Promise<Envelope[]> => {
    if (tip === undefined) return []
    try {
      const pager = createHistoryPager(broker, { from: 0, pageBytes: PAGE_BYTES })
      const channels = hub.channels()
      const missed: Envelope[] = []
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = await bounded(pager.next(channels), 'read history')
        for (const envelope of page.envelopes) if (envelope.ts > tip.ts) missed.push(envelope)
        if (missed.length > MAX_MISSED) throw new Error(`more than ${MAX_MISSED} events to send`)
        if (page.complete) return missed
      }
      throw new Error(`history not read whole in ${MAX_PAGES} pages`)
    } catch (err) {
      logger.warn('cannot read what the new log holds: streams get a reset only', {
        err: String(err),
      })
      return []
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
    // How far this node has the new log. Not the head the replacement
    // returned: events published before it may still be on their way on
    // the bus (its reply can overtake them, on another connection), and
    // they come after these. A stream reset past them, or a recovery that
    // read from there, would skip them.
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
      finish(head, recovering ? await missedSince(tip) : [])
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
      const head = await bounded(broker.head(), 'read the log head')
      known = head
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
      if (queue !== undefined && (aside.length > 0 || unexpected(envelope))) {
        aside.push(envelope)
        return 'queued'
      }
      const doubt = doubtOf(envelope, seq)
      if (doubt !== undefined) {
        confirming.start(envelope, doubt, () => forged(envelope, seq, doubt))
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
