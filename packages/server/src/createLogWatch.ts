import { type Envelope, epochOf } from '@redisse/protocol'
import type { LogHead } from './broker/Broker'

/** What an envelope from the bus says about the log a node follows. */
export type LogVerdict =
  /** The next event of the log followed. */
  | 'next'
  /** Of the epoch followed, at or before a sequence already received: the log went backwards. */
  | 'regressed'
  /** Of an epoch the node did not expect (Redis lost its data, or another node replaced the epoch). */
  | 'changed'

/** Epochs replaced after a regression that a node keeps in mind. */
const RETIRED_KEPT = 16

/** Positions of the log one node has seen, to tell when the log went backwards. */
export interface LogWatch {
  /** Epoch of the log followed (undefined before the first envelope). */
  readonly epoch: string | undefined
  /** The newest envelope received of {@link epoch}. */
  readonly tip: Envelope | undefined
  /** Files an envelope from the bus (one subscriber connection delivers in publish order). */
  envelope(envelope: Envelope, seq: number): LogVerdict
  /** What {@link envelope} would answer, without filing it (to confirm it first). */
  verdict(envelope: Envelope, seq: number): LogVerdict
  /** Highest sequence the bus delivered of {@link epoch}. */
  readonly high: number
  /**
   * True when a head read is behind `high`, what the bus had delivered of
   * its epoch before the read was sent (a reply can overtake envelopes).
   */
  behind(head: LogHead, high: number): boolean
  /** The log went backwards: from now on an envelope of a new epoch is its replacement, not news. */
  regressed(): void
  /** Epoch `from` was replaced: `head` is the log in force. */
  replaced(from: string, head: LogHead): void
  /** True for an epoch whose log went backwards: its cursors name no place in the log any more. */
  isRetired(epoch: string): boolean
  /**
   * The epoch in force that replaced a retired one, or undefined (not
   * retired, its replacement not known yet, or itself retired since). Events
   * of the retired epoch that reach the node after its replacement were
   * published to the new log before it: they sit in that log at their
   * sequence, which a cursor of the epoch in force names exactly.
   */
  successorOf(epoch: string): string | undefined
  /** True once some epoch was retired (until then no event needs another id). */
  hasRetired(): boolean
}

/**
 * The node's memory of the log: the highest sequence the bus delivered per
 * epoch and the newest envelope. Sequences of one Redis only grow, so an
 * envelope at or before the highest one, or a head behind it, means Redis
 * came back with less than it had handed out (a replica that lagged was
 * promoted): the same sequences are handed out again for other events.
 */
export function createLogWatch(): LogWatch {
  let epoch: string | undefined
  let high = 0
  let tip: Envelope | undefined
  let awaiting: string | undefined
  // Each retired epoch, with the one that replaced it.
  const retired = new Map<string, string>()
  const retire = (old: string, by: string) => {
    retired.set(old, by)
    if (retired.size > RETIRED_KEPT) retired.delete(retired.keys().next().value ?? '')
  }
  const verdict = (envelope: Envelope, seq: number): LogVerdict => {
    const of = epochOf(envelope)
    if (epoch === undefined || of === epoch) {
      return epoch !== undefined && seq <= high ? 'regressed' : 'next'
    }
    // Published before the replacement: part of the new log already. Or,
    // awaited, the replacement of the epoch that went backwards.
    return retired.has(of) || awaiting !== undefined ? 'next' : 'changed'
  }
  const follow = (next: string, envelope: Envelope | undefined, seq: number) => {
    epoch = next
    high = seq
    tip = envelope
  }
  return {
    get epoch() {
      return epoch
    },
    get tip() {
      return tip
    },
    envelope(envelope, seq) {
      const of = epochOf(envelope)
      const found = verdict(envelope, seq)
      if (epoch !== undefined && of !== epoch) {
        if (retired.has(of)) return found
        if (awaiting !== undefined) {
          retire(awaiting, of)
          awaiting = undefined
        }
      }
      follow(of, envelope, seq)
      return found
    },
    verdict,
    get high() {
      return high
    },
    behind(head, before) {
      return epoch !== undefined && head.epoch === epoch && head.seq < before
    },
    regressed() {
      awaiting = epoch
    },
    replaced(from, head) {
      if (head.epoch === undefined || head.epoch === from) return
      if (awaiting === from) awaiting = undefined
      retire(from, head.epoch)
      if (epoch === from) follow(head.epoch, undefined, 0)
    },
    isRetired(of) {
      return retired.has(of) || of === awaiting
    },
    hasRetired() {
      return retired.size > 0
    },
    successorOf(of) {
      const by = retired.get(of)
      // Two regressions in a row: the first one's events name no sure place
      // in the log in force, so they keep an id that gets a reset.
      return by === undefined || retired.has(by) || by === awaiting ? undefined : by
    },
  }
}
