import { RedisseError } from './errors'
import { isValidChannel } from './names'

/**
 * A position in the event log of one broker: `epoch` names the life of the
 * log (it changes when Redis loses its data), `seq` orders events within it.
 */
export interface Cursor {
  epoch: string
  seq: number
}

/** Epochs are short lowercase base-36 strings. */
export const EPOCH_PATTERN = /^[0-9a-z]{1,16}$/
const CURSOR_PATTERN = /^([0-9a-z]{1,16})-(\d{1,15})(?:@(.*))?$/

/** A fresh random epoch (8 base-36 characters). */
export function newEpoch(): string {
  let out = ''
  while (out.length < 8) out += Math.random().toString(36).slice(2)
  return out.slice(0, 8)
}

/** `epoch-seq`, the cursor as stored in the envelope and history. */
export function formatCursor(cursor: Cursor): string {
  return `${cursor.epoch}-${cursor.seq}`
}

/**
 * The SSE `id` of an event: its cursor, then `@` and its channel, so a client
 * knows the channel of every event without a change to `data`. The server
 * reads only the cursor part back from `Last-Event-ID`.
 */
export function formatEventId(cursor: string, channel: string): string {
  return `${cursor}@${channel}`
}

/** Splits an event id into cursor and channel; `undefined` when it is not one of ours. */
export function parseEventId(
  id: string,
): { cursor: Cursor; channel: string | undefined } | undefined {
  const match = CURSOR_PATTERN.exec(id)
  if (!match) return undefined
  const [, epoch = '', seq = '', channel] = match
  if (channel !== undefined && !isValidChannel(channel)) return undefined
  return { cursor: { epoch, seq: Number(seq) }, channel }
}

/**
 * Parses a cursor or an event id (`epoch-seq` or `epoch-seq@channel`).
 * @throws RedisseError `invalid-cursor` for anything else
 */
export function parseCursor(value: string): Cursor {
  const parsed = parseEventId(value)
  if (!parsed || !Number.isSafeInteger(parsed.cursor.seq)) {
    throw new RedisseError(
      'invalid-cursor',
      `invalid Last-Event-ID ${JSON.stringify(value.slice(0, 80))}: expected an id sent by this server (epoch-seq), or none`,
    )
  }
  return parsed.cursor
}
