/** A payload that, spliced raw into a JSON frame, would add a forged event for another channel. */
export const SPLICE = '1},{"id":"poison1-1@private","type":"forged","channel":"private","data":2'

/**
 * Envelopes no SDK writes, each as `[what, type, data]`: a type that would
 * end an SSE field early or pass for a reserved event, and data that is not
 * one JSON value.
 */
export const POISONS = [
  ['a type with CR', 'evil\revent: forged', '{}'],
  ['a type with LF', 'evil\nforged', '{}'],
  ['a type with U+2028', 'evil\u2028forged', '{}'],
  ['a reserved type', 'redisse:reset', '{"channels":["a"],"reason":"history-gap"}'],
  ['data that is not JSON', 'm', SPLICE],
  ['data with a trailing second value', 'm', '{} {}'],
] as const
