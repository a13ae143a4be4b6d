import { type Envelope, parseEnvelope, type RedisKeys, RedisseError } from '@redisse/protocol'
import type { Logger } from '../createLogger'

/** Reads envelope text from the bus or history, dropping and counting what fails its checks. */
export interface EnvelopeReader {
  /**
   * The envelope in `raw`, or `undefined` (logged and counted) when it fails
   * `parseEnvelope` or names another channel than the one it came from.
   * Never throws.
   */
  read(raw: string, pubsubChannel: string, source: 'bus' | 'history'): Envelope | undefined
  /** Envelopes dropped so far. */
  readonly dropped: number
}

/**
 * Anyone allowed to PUBLISH or write under the prefix can put any text on
 * the bus or in history, whatever the SDKs and the publish script check.
 * What fails the checks, or claims another channel than its own (a way
 * around per-channel ACLs), is dropped here and never reaches a stream.
 */
export function createEnvelopeReader(options: { keys: RedisKeys; logger: Logger }): EnvelopeReader {
  const { keys, logger } = options
  let dropped = 0
  return {
    read(raw, pubsubChannel, source) {
      try {
        const envelope = parseEnvelope(raw)
        if (keys.pubsub(envelope.channel) === pubsubChannel) return envelope
        throw new RedisseError(
          'invalid-envelope',
          `envelope of channel ${envelope.channel} came from ${pubsubChannel}`,
        )
      } catch (err) {
        dropped += 1
        logger.warn('dropped an invalid envelope', { source, pubsubChannel, err: String(err) })
        return undefined
      }
    },
    get dropped() {
      return dropped
    },
  }
}
