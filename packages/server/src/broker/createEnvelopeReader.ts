import { type Envelope, parseEnvelope, type RedisKeys, RedisseError } from '@redisse/protocol'
import type { Logger } from '../createLogger'

/** Reads envelope text from the bus or history, dropping and counting what fails its checks. */
export interface EnvelopeReader {
  /**
   * The envelope in `raw`, or `undefined` (counted, and logged) when it
   * fails `parseEnvelope` or names another channel than the one it came
   * from. Never throws.
   */
  read(raw: string, pubsubChannel: string, source: 'bus' | 'history'): Envelope | undefined
  /** Envelopes dropped so far. */
  readonly dropped: number
}

/** Shortest time between two log lines about dropped envelopes, in ms. */
const LOG_EVERY = 1000
/** Text of the envelopes already checked that the reader keeps, in UTF-16 units. */
const CHECKED_CAPACITY = 8 * 1024 * 1024
/** What is left of it after an eviction. */
const CHECKED_LOW_WATER = CHECKED_CAPACITY * 0.9

/**
 * Anyone allowed to PUBLISH or write under the prefix can put any text on
 * the bus or in history, whatever the SDKs and the publish script check.
 * What fails the checks, or claims another channel than its own (a way
 * around per-channel ACLs), is dropped here and never reaches a stream.
 * The log gets one line per second at most (with the count left out), so
 * a flood of them cannot flood it too.
 *
 * Checking costs a `JSON.parse` of the data; the newest valid envelopes
 * (up to 8 Mi characters of them) are remembered by their text, so an event read
 * again (live, then in the replays of every client that resumes across it)
 * is parsed once per node, not once per reader.
 */
export function createEnvelopeReader(options: {
  keys: RedisKeys
  logger: Logger
  now?: () => number
}): EnvelopeReader {
  const { keys, logger } = options
  const now = options.now ?? Date.now
  let dropped = 0
  let loggedAt = Number.NEGATIVE_INFINITY
  let unlogged = 0
  // Insertion order is age: the oldest go first once over capacity.
  const checked = new Map<string, Envelope>()
  let checkedSize = 0
  const remember = (raw: string, envelope: Envelope) => {
    if (raw.length > CHECKED_CAPACITY) return
    checked.set(raw, envelope)
    checkedSize += raw.length
    if (checkedSize <= CHECKED_CAPACITY) return
    // Once full, every bus event would push one out: a tenth goes at once
    // instead, so the eviction runs once per thousands of events.
    for (const oldest of checked.keys()) {
      if (checkedSize <= CHECKED_LOW_WATER) break
      checked.delete(oldest)
      checkedSize -= oldest.length
    }
  }
  return {
    read(raw, pubsubChannel, source) {
      try {
        let envelope = checked.get(raw)
        if (!envelope) {
          envelope = parseEnvelope(raw)
          remember(raw, envelope)
        }
        if (keys.pubsub(envelope.channel) === pubsubChannel) return envelope
        throw new RedisseError(
          'invalid-envelope',
          `envelope of channel ${envelope.channel} came from ${pubsubChannel}`,
        )
      } catch (err) {
        dropped += 1
        if (now() - loggedAt < LOG_EVERY) {
          unlogged += 1
          return undefined
        }
        loggedAt = now()
        logger.warn('dropped an invalid envelope', {
          source,
          pubsubChannel,
          err: String(err),
          ...(unlogged > 0 ? { alsoDroppedSinceLastLine: unlogged } : {}),
        })
        unlogged = 0
        return undefined
      }
    },
    get dropped() {
      return dropped
    },
  }
}
