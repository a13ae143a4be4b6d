import { RedisseError } from './errors'

/** Version tag on the first line of every envelope. */
export const ENVELOPE_VERSION = 'redisse/1'

/**
 * One event as it travels on the bus and sits in history. On the wire it is
 * six LF-separated parts: `redisse/1`, id, channel, type, ts, then data
 * (JSON text, which may itself contain line breaks since it comes last).
 * Channel and type never contain LF (validated at publish time).
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

/**
 * Parses an envelope received from the bus or history.
 * @throws RedisseError `invalid-envelope` for unknown versions or malformed text
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
  const validTs = ts !== undefined && /^\d+$/.test(ts)
  if (parts.length !== 5 || version !== ENVELOPE_VERSION || !id || !channel || !type || !validTs) {
    throw new RedisseError(
      'invalid-envelope',
      `malformed envelope (expected ${ENVELOPE_VERSION}): ${JSON.stringify(raw.slice(0, 80))}`,
    )
  }
  return { id, channel, type, ts: Number(ts), data: raw.slice(start) }
}
