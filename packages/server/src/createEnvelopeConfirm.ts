import type { Envelope } from '@redisse/protocol'
import type { Logger } from './createLogger'

/**
 * Most envelopes held behind one being confirmed. The reads are bounded in
 * time; this bounds the memory a busy log fills meanwhile. Past it the
 * confirmation is given up: the first envelope is taken as the bus gave it.
 */
export const MAX_HELD = 10_000
/** Shortest time between two log lines about envelopes the log never held, ms. */
const FORGED_LOG_EVERY = 1000

/**
 * Why an envelope from the bus is confirmed against Redis before the node
 * acts on it: `ahead`, far past the newest sequence known of its log;
 * `past`, at a sequence of the epoch followed already heard (the log went
 * backwards?); `epoch`, of an epoch the node does not expect (replaced?).
 */
export type Doubt = 'ahead' | 'past' | 'epoch'

const FORGED_BECAUSE: Record<Doubt, string> = {
  ahead: 'far past its head',
  past: 'at a sequence already heard, which the log did not hand out again',
  epoch: 'of an epoch it is not under',
}

/** Holds bus envelopes while the first of them is confirmed, and files them again in order. */
export interface EnvelopeConfirm {
  /** Holds `envelope` behind the one being confirmed: false when none is. */
  hold(envelope: Envelope): boolean
  /**
   * Holds `envelope`, and those after it, until `forged` settles: true
   * drops it (counted), false or a failure files it again first, as the
   * bus gave it (a needless reset costs less than a lost event).
   */
  start(envelope: Envelope, doubt: Doubt, forged: () => Promise<boolean>): void
  /** True for the envelope being filed again once confirmed: it is not confirmed twice. */
  passes(envelope: Envelope): boolean
}

/**
 * The hold of a log guard: a hostile or broken bus peer can PUBLISH a
 * well-formed envelope no publish script wrote, and the node must not
 * reset every stream for it. Everything after it waits, so the streams get
 * the events in bus order whatever the verdict.
 */
export function createEnvelopeConfirm(options: {
  logger: Logger
  hub: {
    /** Files a bus envelope as if it came now. */
    receive(envelope: Envelope): void
    /** Counts an envelope dropped because the log never held it. */
    dropForged(envelope: Envelope): void
  }
}): EnvelopeConfirm {
  const { logger, hub } = options
  // The envelopes held while the first of them is confirmed, in order.
  let held: Envelope[] | undefined
  let passing: Envelope | undefined
  let forgedLoggedAt = 0
  let unlogged = 0

  // Outside any bus callback, a throw here would end the process.
  const file = (envelope: Envelope) => {
    try {
      hub.receive(envelope)
    } catch (err) {
      logger.error('cannot deliver an event held for a check of the log', { err: String(err) })
    }
  }

  // No data in the line: only where the envelope claims to be.
  const dropForged = (envelope: Envelope, doubt: Doubt) => {
    hub.dropForged(envelope)
    if (Date.now() - forgedLoggedAt < FORGED_LOG_EVERY) {
      unlogged += 1
      return
    }
    forgedLoggedAt = Date.now()
    logger.warn(
      `dropped an envelope from the bus that the log never held (${FORGED_BECAUSE[doubt]})`,
      {
        id: envelope.id,
        channel: envelope.channel,
        ...(unlogged > 0 ? { alsoDroppedSinceLastLine: unlogged } : {}),
      },
    )
    unlogged = 0
  }

  // Filed again in order: one of them in doubt in turn holds those after it.
  const release = (envelopes: Envelope[], forged: Doubt | undefined) => {
    const [first, ...rest] = envelopes
    if (first === undefined) return
    if (forged !== undefined) {
      dropForged(first, forged)
    } else {
      passing = first
      file(first)
      passing = undefined
    }
    for (const next of rest) file(next)
  }

  return {
    hold(envelope) {
      if (held === undefined) return false
      held.push(envelope)
      if (held.length > MAX_HELD) {
        const all = held
        held = undefined
        logger.warn('too many events held for a check of the log: taking the first as it came', {
          held: all.length,
        })
        release(all, undefined)
      }
      return true
    },
    start(envelope, doubt, forged) {
      const mine = [envelope]
      held = mine
      void forged()
        .catch((err: unknown) => {
          if (held === mine) {
            logger.warn(
              'cannot check an envelope from the bus against the log: taking it as it came',
              {
                doubt,
                err: String(err),
              },
            )
          }
          return false
        })
        .then((drop) => {
          // Given up already (too many held): those are filed.
          if (held !== mine) return
          held = undefined
          release(mine, drop ? doubt : undefined)
        })
    },
    passes(envelope) {
      return envelope === passing
    },
  }
}
