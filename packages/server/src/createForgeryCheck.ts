import { type Envelope, epochOf } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import type { Doubt } from './createEnvelopeConfirm'
import type { LogWatch } from './createLogWatch'
import { withGuardDeadline } from './withGuardDeadline'

/**
 * How far past the newest sequence known of the log (heard or read) an
 * envelope may come before Redis is asked whether its log got that far.
 * Gaps are normal (the node hears only its channels): past this one, each
 * heard event costs a head read, and holds live delivery for it.
 */
const CONFIRM_AHEAD = 1000

/** Tells, against Redis, a bus envelope no publish script wrote from a real one. */
export interface ForgeryCheck {
  /** Why the envelope must be confirmed before the node acts on it, if it must. */
  doubtOf(envelope: Envelope, seq: number): Doubt | undefined
  /**
   * Of an epoch neither followed nor retired: while a log that went
   * backwards awaits its replacement, one only Redis can confirm.
   */
  unexpected(envelope: Envelope): boolean
  /** True when Redis shows the publish script never wrote `envelope`. Rejects when it cannot tell. */
  forged(envelope: Envelope, seq: number, doubt: Doubt): Promise<boolean>
  /** Reads the log head, which also records how far the log is known to be. */
  readHead(): Promise<LogHead>
}

/**
 * The checks of a log guard. Any process that can PUBLISH on Redis can put
 * a well-formed envelope on the bus: acted on as they come, one far ahead
 * of the log would make the next real events look like a log that went
 * backwards, one at a past sequence would replace the epoch for every node,
 * and one of another epoch would reset every stream of this one.
 */
export function createForgeryCheck(options: { broker: Broker; watch: LogWatch }): ForgeryCheck {
  const { broker, watch } = options
  const { holds } = broker
  // The newest head read.
  let known: LogHead = { epoch: undefined, seq: 0 }

  // A well-formed envelope far past the head that never went through the
  // publish script would raise the mark the next real events are held
  // against: they would pass for a log that went backwards, and every
  // stream would be reset. Past CONFIRM_AHEAD, the head is read first: a
  // log of its epoch that did not get that far never held it.
  const farAhead = (envelope: Envelope, seq: number): boolean => {
    const of = epochOf(envelope)
    if (watch.epoch !== undefined && of !== watch.epoch) return false
    const high = watch.epoch === of ? watch.high : 0
    return seq > Math.max(high, known.epoch === of ? known.seq : 0) + CONFIRM_AHEAD
  }

  const unexpected = (envelope: Envelope): boolean => {
    const of = epochOf(envelope)
    return watch.epoch !== undefined && of !== watch.epoch && !watch.isRetired(of)
  }

  const readHead = async (): Promise<LogHead> => {
    known = await withGuardDeadline(broker.head(), 'read the log head')
    return known
  }

  const inHistory = (e: Envelope | undefined): Promise<boolean | undefined> =>
    e === undefined || !holds
      ? Promise.resolve(undefined)
      : withGuardDeadline(holds.call(broker, e), 'read history')

  return {
    doubtOf(envelope, seq) {
      if (farAhead(envelope, seq)) return 'ahead'
      // Awaited as the replacement of an epoch that went backwards, another
      // epoch is one only if Redis shows it in force (the replacement of
      // this node failed, and another node's came).
      if (unexpected(envelope)) return 'epoch'
      return watch.verdict(envelope, seq) === 'regressed' ? 'past' : undefined
    },
    unexpected,
    async forged(envelope, seq, doubt) {
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
    },
    readHead,
  }
}
