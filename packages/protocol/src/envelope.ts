import { RedisseError } from './errors'
import { isValidChannel, isValidEventType } from './names'

/** Version tag on the first line of every envelope. */
export const ENVELOPE_VERSION = 'redisse/1'

/**
 * One event as it travels on the bus and sits in history. On the wire it is
 * six LF-separated parts: `redisse/1`, id, channel, type, ts, then data
 * (JSON text, which may itself contain line breaks since it comes last).
 * Channel and type never contain LF (validated at publish time, by the SDKs
 * and by the publish script itself, and again by {@link parseEnvelope}).
 */
export interface Envelope {
  /** Cursor `epoch-seq`. */
  id: string
  channel: string
  type: string
  /** Publish time, ms since the epoch, from the broker's clock. */
  ts: number
  /** Payload as JSON text, exactly as published. */
  data: string
}

/** Serialises an envelope exactly as the publish script does. */
export function formatEnvelope(e: Envelope): string {
  return `${ENVELOPE_VERSION}\n${e.id}\n${e.channel}\n${e.type}\n${e.ts}\n${e.data}`
}

// The cursor part of an event id (see cursor.ts): `epoch-seq`, nothing after it.
const ENVELOPE_ID = /^[0-9a-z]{1,16}-\d{1,15}$/

function invalid(reason: string, raw: string): RedisseError {
  return new RedisseError(
    'invalid-envelope',
    `invalid envelope, ${reason}: ${JSON.stringify(raw.slice(0, 80))}; it was not written by a Redisse publisher (see the publish script of @redisse/protocol)`,
  )
}

/**
 * Parses and checks an envelope received from the bus or history. Anything
 * could have been PUBLISHed or written there, so every field is checked as
 * the publish side checks it: the id is a cursor, the channel and type pass
 * {@link isValidChannel} and {@link isValidEventType} (no reserved type), and
 * `data` is JSON text (or empty, read as null), since WebSocket and poll
 * frames splice it in as is. Costs one `JSON.parse` of `data`.
 * @throws RedisseError `invalid-envelope` for unknown versions, malformed
 *   text, or any field that fails its check
 */
export function parseEnvelope(raw: string): Envelope {
  const parts: string[] = []
  let start = 0
  for (let i = 0; i < 5; i++) {
    const end = raw.indexOf('\n', start)
    if (end < 0) break
    parts.push(raw.slice(start, end))
    start = end + 1
  }
  const [version, id, channel, type, ts] = parts
  const validTs = ts !== undefined && /^\d{1,16}$/.test(ts)
  if (parts.length !== 5 || version !== ENVELOPE_VERSION || !id || !channel || !type || !validTs) {
    throw new RedisseError(
      'invalid-envelope',
      `malformed envelope (expected ${ENVELOPE_VERSION}): ${JSON.stringify(raw.slice(0, 80))}`,
    )
  }
  if (!ENVELOPE_ID.test(id)) throw invalid('its id is not a cursor (epoch-seq)', raw)
  if (!isValidChannel(channel)) throw invalid('its channel name is not valid', raw)
  if (!isValidEventType(type)) throw invalid('its event type is not valid or is reserved', raw)
  const data = raw.slice(start)
  if (data !== '') {
    try {
      JSON.parse(data)
    } catch {
      throw invalid('its data is not JSON text', raw)
    }
  }
  return { id, channel, type, ts: Number(ts), data }
}
