import type { Broker, LogHead } from './broker/Broker'

/**
 * Where a new stream starts in one log, read from Redis once per channel
 * subscription rather than once per stream.
 *
 * A stream that joins channels starts at the log head: every event after
 * it reaches the stream, none before it is claimed by its cursor. The head
 * of a read sent after the channel's SUBSCRIBE was confirmed is such a
 * place. While the bus stays live, the node hears every event of that
 * channel from then on, so the newest place it knows of (that read or any
 * event since, of the same epoch) is one too for every later stream of the
 * channel: events of the channel it did not hear are all before it, and
 * every event after it is heard. A lost bus, a log that went backwards or
 * changed epoch, or the channel's last listener leaving ends that proof,
 * and the next stream reads the head again.
 */
export interface KnownHead {
  /** The channel's subscription began (its first local listener joined). */
  heard(channel: string): void
  /** The channel's subscription ended (its last local listener left). */
  unheard(channel: string): void
  /** The node delivered an event of the log. */
  seen(epoch: string, seq: number): void
  /** What the node heard no longer proves the head: the bus was lost, or the log went backwards. */
  forget(): void
  /**
   * Where a stream that now hears `channels` (their SUBSCRIBE confirmed)
   * starts: the known head while it proves the place, else a head read.
   */
  headFor(channels: readonly string[]): Promise<LogHead>
}

/**
 * Builds the known head of one log.
 * @param options.live - true while the node hears its channels and serves
 *   the log as it is (bus ready, no recovery or new log being served)
 */
export function createKnownHead(options: { broker: Broker; live: () => boolean }): KnownHead {
  // Each subscription of a channel gets its own mark: a read anchors the
  // subscription it was sent after, not one that ended and began again meanwhile.
  let marks = 0
  const heardAt = new Map<string, number>()
  const anchored = new Map<string, number>()
  let known: LogHead | undefined
  let generation = 0
  const forget = () => {
    anchored.clear()
    known = undefined
    generation += 1
  }
  const proven = (channel: string) => {
    const at = heardAt.get(channel)
    return at !== undefined && anchored.get(channel) === at
  }
  return {
    heard(channel) {
      heardAt.set(channel, ++marks)
    },
    unheard(channel) {
      heardAt.delete(channel)
      anchored.delete(channel)
    },
    seen(epoch, seq) {
      if (known?.epoch === epoch) {
        // Every bus event comes here: no allocation on the way.
        if (seq > known.seq) known.seq = seq
        return
      }
      if (known?.epoch !== undefined) forget()
      known = { epoch, seq }
    },
    forget,
    async headFor(channels) {
      if (known && options.live() && channels.every(proven)) return { ...known }
      const at = channels.map((channel) => heardAt.get(channel))
      const since = generation
      const head = await options.broker.head()
      // An epoch the node has not heard yet is news the hub must see first.
      const agrees = known === undefined || known.epoch === undefined || head.epoch === known.epoch
      if (since === generation && agrees && options.live()) {
        if (known === undefined || known.epoch === undefined) known = { ...head }
        else if (head.seq > known.seq) known = { epoch: known.epoch, seq: head.seq }
        channels.forEach((channel, i) => {
          const mark = at[i]
          if (mark !== undefined && heardAt.get(channel) === mark) anchored.set(channel, mark)
        })
      }
      return head
    },
  }
}
