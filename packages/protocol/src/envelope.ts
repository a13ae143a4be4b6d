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
  // Every bus event comes through here: the header lines are found with
  // indexOf and checked in place, with no array of parts in between.
  const e0 = raw.indexOf('\n')
  const e1 = e0 < 0 ? -1 : raw.indexOf('\n', e0 + 1)
  const e2 = e1 < 0 ? -1 : raw.indexOf('\n', e1 + 1)
  const e3 = e2 < 0 ? -1 : raw.indexOf('\n', e2 + 1)
  const e4 = e3 < 0 ? -1 : raw.indexOf('\n', e3 + 1)
  if (
    e4 < 0 ||
    e0 !== ENVELOPE_VERSION.length ||
    !raw.startsWith(ENVELOPE_VERSION) ||
    e1 === e0 + 1 ||
    e2 === e1 + 1 ||
    e3 === e2 + 1 ||
    !isTs(raw, e3 + 1, e4)
  ) {
    throw new RedisseError(
      'invalid-envelope',
      `malformed envelope (expected ${ENVELOPE_VERSION}): ${JSON.stringify(raw.slice(0, 80))}`,
    )
  }
  const id = raw.slice(e0 + 1, e1)
  const channel = raw.slice(e1 + 1, e2)
  const type = raw.slice(e2 + 1, e3)
  if (!ENVELOPE_ID.test(id)) throw invalid('its id is not a cursor (epoch-seq)', raw)
  if (!isValidChannel(channel)) throw invalid('its channel name is not valid', raw)
  if (!isValidEventType(type)) throw invalid('its event type is not valid or is reserved', raw)
  const data = raw.slice(e4 + 1)
  if (data !== '') {
    try {
      JSON.parse(data)
    } catch {
      throw invalid('its data is not JSON text', raw)
    }
  }
  return { id, channel, type, ts: Number(raw.slice(e3 + 1, e4)), data }
}

/**
 * The epoch of an envelope, from its id `epoch-seq`. The id is one
 * {@link parseEnvelope} checked (or a broker formatted with `formatCursor`):
 * an epoch never holds a `-`, so the last one ends it.
 * @example
 * ```ts
 * epochOf(parseEnvelope('redisse/1\nk3x9a2bq-42\nroom:1\nm\n0\n1')) // 'k3x9a2bq'
 * ```
 */
export function epochOf(envelope: Envelope): string {
  return envelope.id.slice(0, envelope.id.lastIndexOf('-'))
}

/** True when `raw[from, to)` is 1 to 16 ASCII digits (a ts in ms). */
function isTs(raw: string, from: number, to: number): boolean {
  if (to <= from || to - from > 16) return false
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}
