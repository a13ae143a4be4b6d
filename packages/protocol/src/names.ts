import { RedisseError } from './errors'

/** Longest channel name accepted, in characters. */
export const MAX_CHANNEL_LENGTH = 200
/** Longest event type accepted, in characters. */
export const MAX_EVENT_TYPE_LENGTH = 100
/** Event types starting with this prefix belong to Redisse itself (`redisse:reset`…). */
export const RESERVED_PREFIX = 'redisse:'

/**
 * Channel names: letters, digits and `_ - . : @ / = +`. No spaces, no glob
 * characters (`* ? [ ] \`) that PSUBSCRIBE would expand, no CR/LF/NUL.
 */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_\-.:@/=+]+$/

// C0 controls and DEL: CR/LF would end an SSE line early, NUL is dropped by
// parsers. C1 controls (NEL, U+0085, among them) and the Unicode line and
// paragraph separators U+2028/U+2029: line-oriented tools, log pipelines and
// some hand-written SSE parsers break lines on them too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** True when `name` is a valid channel name. */
export function isValidChannel(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_CHANNEL_LENGTH &&
    CHANNEL_PATTERN.test(name)
  )
}

/**
 * Throws a `invalid-channel` {@link RedisseError} unless `name` is a valid channel name.
 * @returns the name, for chaining
 */
export function validateChannel(name: unknown): string {
  if (isValidChannel(name)) return name
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 60)) : typeof name
  throw new RedisseError(
    'invalid-channel',
    `invalid channel name ${shown}: use 1 to ${MAX_CHANNEL_LENGTH} characters among A-Z a-z 0-9 _ - . : @ / = +`,
  )
}

/**
 * True when `type` is a valid event type: 1 to {@link MAX_EVENT_TYPE_LENGTH}
 * characters, no control characters (C0, DEL, C1 such as U+0085), no U+2028
 * or U+2029, no leading or trailing whitespace, and reserved `redisse:`
 * types only with `allowReserved`.
 */
export function isValidEventType(type: unknown, { allowReserved = false } = {}): type is string {
  return (
    typeof type === 'string' &&
    type.length > 0 &&
    type.length <= MAX_EVENT_TYPE_LENGTH &&
    !CONTROL_CHARS.test(type) &&
    type.trim() === type &&
    (allowReserved || !type.startsWith(RESERVED_PREFIX))
  )
}

/**
 * Throws unless `type` is a valid event type: `reserved-event-type` for the
 * `redisse:` prefix, `invalid-event-type` otherwise.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function validateEventType(type: unknown, { allowReserved = false } = {}): string {
  if (isValidEventType(type, { allowReserved })) return type
  if (typeof type === 'string' && type.startsWith(RESERVED_PREFIX) && !allowReserved) {
    throw new RedisseError(
      'reserved-event-type',
      `event type "${type.slice(0, 60)}" uses the reserved prefix "${RESERVED_PREFIX}": pick another name`,
    )
  }
  const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 60)) : typeof type
  throw new RedisseError(
    'invalid-event-type',
    `invalid event type ${shown}: use 1 to ${MAX_EVENT_TYPE_LENGTH} characters, no control characters or line separators (U+0085, U+2028, U+2029), no leading or trailing spaces`,
  )
}
