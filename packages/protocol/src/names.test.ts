import { describe, expect, test } from 'vitest'
import { RedisseError } from './errors'
import {
  isValidChannel,
  isValidEventType,
  MAX_CHANNEL_LENGTH,
  MAX_EVENT_TYPE_LENGTH,
  RESERVED_PREFIX,
  validateChannel,
  validateEventType,
} from './names'

/** The error `fn` throws, or a failed expectation when it returns. */
function thrownBy(fn: () => unknown): RedisseError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RedisseError)
    return err as RedisseError
  }
  throw new Error('expected a throw')
}

describe('channel names', () => {
  test.each([
    'room:42',
    'a',
    'user@example.com',
    'team/general',
    'a_b-c.d:e@f/g=h+i',
    'ABCxyz0189',
    'x'.repeat(MAX_CHANNEL_LENGTH),
  ])('accepts %j', (name) => {
    expect(isValidChannel(name)).toBe(true)
    expect(validateChannel(name)).toBe(name)
  })

  test.each([
    ['empty', ''],
    ['one character too long', 'x'.repeat(MAX_CHANNEL_LENGTH + 1)],
    ['glob star', 'room:*'],
    ['glob question mark', 'room:?'],
    ['glob bracket open', 'room:[ab'],
    ['glob bracket close', 'room:ab]'],
    ['backslash', 'room\\42'],
    ['space', 'room 42'],
    ['tab', 'room\t42'],
    ['LF', 'room\n42'],
    ['CR', 'room\r42'],
    ['NUL', 'room\x0042'],
    ['non-ASCII letter', 'salle:é'],
    ['U+2028 (line separator)', 'room\u202842'],
    ['U+2029 (paragraph separator)', 'room\u202942'],
    ['U+0085 (next line)', 'room\u008542'],
    ['comma', 'a,b'],
  ])('rejects a name with %s', (_rule, name) => {
    expect(isValidChannel(name)).toBe(false)
    expect(thrownBy(() => validateChannel(name)).code).toBe('invalid-channel')
  })

  test.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['room']],
    ['an object', { toString: () => 'room' }],
  ])('rejects %s, naming its type in the message', (_what, value) => {
    expect(isValidChannel(value)).toBe(false)
    const err = thrownBy(() => validateChannel(value))
    expect(err.code).toBe('invalid-channel')
    expect(err.message).toContain(typeof value)
  })

  test('error message quotes the name and states the rule (length and allowed characters)', () => {
    const err = thrownBy(() => validateChannel('room 42'))
    expect(err.message).toBe(
      `invalid channel name "room 42": use 1 to ${MAX_CHANNEL_LENGTH} characters among A-Z a-z 0-9 _ - . : @ / = +`,
    )
    expect(err.status).toBe(400)
  })

  test('error message quotes at most 60 characters of a long name', () => {
    const err = thrownBy(() => validateChannel('y'.repeat(500)))
    expect(err.message).toContain(`"${'y'.repeat(60)}"`)
    expect(err.message).not.toContain('y'.repeat(61))
  })
})

describe('event types', () => {
  test.each([
    'message',
    'chat.message',
    'a',
    'with space inside',
    'ünïcödé 🎉',
    'a\u00a0b',
    'a\u2027b\u202ac',
    'a:b',
    't'.repeat(MAX_EVENT_TYPE_LENGTH),
  ])('accepts %j', (type) => {
    expect(isValidEventType(type)).toBe(true)
    expect(validateEventType(type)).toBe(type)
  })

  test.each([
    ['empty', ''],
    ['one character too long', 't'.repeat(MAX_EVENT_TYPE_LENGTH + 1)],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\0b'],
    ['tab', 'a\tb'],
    ['escape', 'a\x1bb'],
    ['DEL', 'a\x7fb'],
    ['U+2028 (line separator)', 'a\u2028b'],
    ['U+2029 (paragraph separator)', 'a\u2029b'],
    ['U+0085 (next line)', 'a\u0085b'],
    ['another C1 control', 'a\u009bb'],
    ['U+2028 at the end', 'message\u2028'],
    ['a leading space', ' message'],
    ['a trailing space', 'message '],
  ])('rejects a type with %s with code invalid-event-type', (_rule, type) => {
    expect(isValidEventType(type)).toBe(false)
    expect(thrownBy(() => validateEventType(type)).code).toBe('invalid-event-type')
  })

  test.each([42, null, undefined, {}])('rejects the non-string %j', (value) => {
    expect(isValidEventType(value)).toBe(false)
    const err = thrownBy(() => validateEventType(value))
    expect(err.code).toBe('invalid-event-type')
    expect(err.message).toContain(typeof value)
  })

  test('error message states the rule', () => {
    expect(thrownBy(() => validateEventType('a\nb')).message).toBe(
      `invalid event type "a\\nb": use 1 to ${MAX_EVENT_TYPE_LENGTH} characters, no control characters or line separators (U+0085, U+2028, U+2029), no leading or trailing spaces`,
    )
  })

  test('rejects the reserved prefix with code reserved-event-type, naming the prefix', () => {
    const err = thrownBy(() => validateEventType('redisse:reset'))
    expect(err.code).toBe('reserved-event-type')
    expect(err.status).toBe(400)
    expect(err.message).toBe(
      `event type "redisse:reset" uses the reserved prefix "${RESERVED_PREFIX}": pick another name`,
    )
    expect(isValidEventType('redisse:reset')).toBe(false)
  })

  test('reports the reserved prefix first, even when the rest of the type is invalid too', () => {
    expect(thrownBy(() => validateEventType('redisse:a\nb')).code).toBe('reserved-event-type')
  })

  test('accepts the reserved prefix with allowReserved', () => {
    expect(isValidEventType('redisse:reset', { allowReserved: true })).toBe(true)
    expect(validateEventType('redisse:reset', { allowReserved: true })).toBe('redisse:reset')
  })

  test('still rejects invalid reserved types with allowReserved', () => {
    expect(thrownBy(() => validateEventType('redisse:\n', { allowReserved: true })).code).toBe(
      'invalid-event-type',
    )
  })

  test('treats the prefix as case-sensitive and only at the start', () => {
    expect(validateEventType('Redisse:reset')).toBe('Redisse:reset')
    expect(validateEventType('my-redisse:reset')).toBe('my-redisse:reset')
  })
})
