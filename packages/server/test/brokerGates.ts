import type { Envelope } from '@redisse/protocol'
import type { Broker, BrokerState } from '../src/broker/Broker'

/**
 * A gate the test opens: `entered` settles when something waits at it.
 * `refuse` makes what waits there fail instead (a call Redis refused).
 */
export function gate() {
  let open: () => void = () => {}
  let refuse: () => void = () => {}
  let enter: () => void = () => {}
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve
    refuse = () => reject(new Error('refused by the test'))
  })
  // Only the calls that await it see a refusal.
  opened.catch(() => {})
  const entered = new Promise<void>((resolve) => {
    enter = resolve
  })
  return { opened, entered, open, refuse, enter }
}
export type Gate = ReturnType<typeof gate>

/** The moments of a reconnect `withGates` can hold. */
export interface BrokerGates {
  /** Holds the next `ready` the broker reports. */
  ready?: Gate | undefined
  /** Holds the next SUBSCRIBE of a channel. */
  subscribe: Map<string, Gate>
  /** Holds the next history page read before it is sent. */
  read?: Gate | undefined
  /** Called once the next history page read has been written by its reader. */
  afterRead?: (() => void) | undefined
  /**
   * Holds the envelopes the bus delivers from the next one on, in order,
   * until it opens (a subscriber behind the log): `entered` with the first.
   */
  bus?: Gate | undefined
  /**
   * Drops the envelopes the bus delivers from the next one on, until it
   * opens (a subscriber connection that died with them in flight):
   * `entered` with the first.
   */
  lose?: Gate | undefined
  /** Holds the next epoch replacement before it is sent. */
  replace?: Gate | undefined
}

/**
 * A real broker (or one partition of one), with moments held for as long
 * as the test wants, as a slow network would: the subscriber's return
 * (`ready`), a SUBSCRIBE of one channel, the start or the end of a history
 * read, an epoch replacement, and the envelopes the bus delivers (or loses).
 */
export function withGates(inner: Broker): { broker: Broker; gates: BrokerGates } {
  const gates: BrokerGates = { subscribe: new Map() }
  const broker: Broker = Object.create(inner)
  broker.onState = (listener: (state: BrokerState) => void) =>
    inner.onState((state) => {
      const held = state === 'ready' ? gates.ready : undefined
      if (!held) return listener(state)
      gates.ready = undefined
      held.enter()
      void held.opened.then(() => listener(state))
    })
  broker.onEnvelope = (listener: (envelope: Envelope) => void) => {
    let queued: Envelope[] | undefined
    let losing = false
    inner.onEnvelope((envelope) => {
      if (queued) {
        queued.push(envelope)
        return
      }
      if (!losing && gates.lose) {
        const lost = gates.lose
        gates.lose = undefined
        losing = true
        lost.enter()
        void lost.opened.then(() => {
          losing = false
        })
      }
      if (losing) return
      const held = gates.bus
      if (!held) return listener(envelope)
      gates.bus = undefined
      const waiting = [envelope]
      queued = waiting
      held.enter()
      void held.opened.then(() => {
        queued = undefined
        for (const next of waiting) listener(next)
      })
    })
  }
  broker.subscribe = async (channel) => {
    const held = gates.subscribe.get(channel)
    if (held) {
      gates.subscribe.delete(channel)
      held.enter()
      await held.opened
    }
    return inner.subscribe(channel)
  }
  const replaceEpoch = inner.replaceEpoch
  if (replaceEpoch) {
    broker.replaceEpoch = async (from, to) => {
      const held = gates.replace
      if (held) {
        gates.replace = undefined
        held.enter()
        await held.opened
      }
      return replaceEpoch.call(inner, from, to)
    }
  }
  broker.histories = async (request) => {
    const before = gates.read
    if (before) {
      gates.read = undefined
      before.enter()
      await before.opened
    }
    const page = await inner.histories(request)
    const after = gates.afterRead
    gates.afterRead = undefined
    // Once whoever read this page has written it (the same turn of the loop).
    if (after) setImmediate(after)
    return page
  }
  return { broker, gates }
}

/**
 * A partitioned broker (cluster, or its embedded stand-in) whose one
 * partition is held by gates (see {@link withGates}), the others left as
 * they are.
 */
export function withGatedPartition(
  inner: Broker,
  partition: number,
): { broker: Broker; gates: BrokerGates } {
  const partitions = inner.partitions as readonly Broker[]
  const { broker: gated, gates } = withGates(partitions[partition] as Broker)
  const broker: Broker = Object.create(inner)
  Object.defineProperty(broker, 'partitions', {
    value: partitions.map((b, p) => (p === partition ? gated : b)),
  })
  return { broker, gates }
}
