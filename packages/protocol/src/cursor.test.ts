import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  EPOCH_PATTERN,
  formatCursor,
  formatEventId,
  newEpoch,
  parseCursor,
  parseEventId,
} from './cursor'
import { isRedisseError } from './errors'
import { MAX_CHANNEL_LENGTH } from './names'

const epoch = fc.stringMatching(/^[0-9a-z]{1,16}$/)
const seq = fc.integer({ min: 0, max: 999_999_999_999_999 })
const channel = fc.string({
  unit: fc.constantFrom(...'ABZabz09_-.:@/=+'),
  minLength: 1,
  maxLength: MAX_CHANNEL_LENGTH,
})

describe('formatCursor', () => {
  test('joins epoch and sequence with a dash', () => {
    expect(formatCursor({ epoch: 'k3x9a2bq', seq: 42 })).toBe('k3x9a2bq-42')
  })
})

describe('formatEventId', () => {
  test('appends @ and the channel to the cursor', () => {
    expect(formatEventId('k3x9a2bq-42', 'room:42')).toBe('k3x9a2bq-42@room:42')
  })
})

describe('parseEventId', () => {
  test('splits an event id into cursor and channel', () => {
    expect(parseEventId('k3x9a2bq-42@room:42')).toEqual({
      cursor: { epoch: 'k3x9a2bq', seq: 42 },
      channel: 'room:42',
    })
  })

  test('reads a bare cursor with an undefined channel', () => {
    expect(parseEventId('k3x9a2bq-42')).toEqual({
      cursor: { epoch: 'k3x9a2bq', seq: 42 },
      channel: undefined,
    })
  })

  test('keeps every @ after the first one in the channel', () => {
    expect(parseEventId('e-1@user@example.com')?.channel).toBe('user@example.com')
  })

  test('round-trips any cursor and valid channel', () => {
    fc.assert(
      fc.property(epoch, seq, channel, (epoch, seq, channel) => {
        const id = formatEventId(formatCursor({ epoch, seq }), channel)
        expect(parseEventId(id)).toEqual({ cursor: { epoch, seq }, channel })
      }),
    )
  })

  test.each([
    ['an empty string', ''],
    ['no dash', 'abc'],
    ['no sequence', 'abc-'],
    ['no epoch', '-1'],
    ['an uppercase epoch', 'ABC-1'],
    ['an epoch over 16 characters', `${'a'.repeat(17)}-1`],
    ['a negative sequence', 'abc--1'],
    ['a decimal sequence', 'abc-1.5'],
    ['a hex sequence', 'abc-0x1f'],
    ['an empty channel', 'abc-1@'],
    ['an invalid channel', 'abc-1@room 42'],
    ['a glob channel', 'abc-1@room:*'],
    ['surrounding spaces', ' abc-1 '],
    ['a trailing line break', 'abc-1\n'],
  ])('returns undefined for %s', (_what, id) => {
    expect(parseEventId(id)).toBeUndefined()
  })
})

describe('parseCursor', () => {
  test('reads a bare cursor', () => {
    expect(parseCursor('k3x9a2bq-7')).toEqual({ epoch: 'k3x9a2bq', seq: 7 })
  })

  test('reads the cursor part of an event id, as sent back in Last-Event-ID', () => {
    expect(parseCursor('k3x9a2bq-7@room:42')).toEqual({ epoch: 'k3x9a2bq', seq: 7 })
  })

  test('round-trips any cursor', () => {
    fc.assert(
      fc.property(epoch, seq, (epoch, seq) => {
        expect(parseCursor(formatCursor({ epoch, seq }))).toEqual({ epoch, seq })
      }),
    )
  })

  test.each([
    '',
    'garbage',
    'null',
    'undefined',
    '42',
    'abc-',
    'abc-x',
    'abc-1@',
    'abc-1@bad channel',
    'ABC-1',
    '<script>-1',
  ])('rejects %j with code invalid-cursor', (value) => {
    let thrown: unknown
    try {
      parseCursor(value)
    } catch (err) {
      thrown = err
    }
    expect(isRedisseError(thrown, 'invalid-cursor')).toBe(true)
  })

  test('rejects a sequence beyond the largest safe integer', () => {
    const unsafe = `abc-${Number.MAX_SAFE_INTEGER + 2}`
    expect(() => parseCursor(unsafe)).toThrowError(
      expect.objectContaining({ code: 'invalid-cursor' }),
    )
  })

  test('rejects a sequence of hundreds of digits without losing precision to Infinity', () => {
    expect(() => parseCursor(`abc-${'9'.repeat(400)}`)).toThrowError(
      expect.objectContaining({ code: 'invalid-cursor' }),
    )
  })

  test('error message quotes the value and says what is expected', () => {
    expect(() => parseCursor('garbage')).toThrowError(
      'invalid Last-Event-ID "garbage": expected an id sent by this server (epoch-seq), or none',
    )
  })

  test('error message quotes at most 80 characters of a long value', () => {
    let message = ''
    try {
      parseCursor('z'.repeat(1000))
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toContain(`"${'z'.repeat(80)}"`)
    expect(message).not.toContain('z'.repeat(81))
  })
})

describe('newEpoch', () => {
  test('returns 8 lowercase base-36 characters matching EPOCH_PATTERN', () => {
    for (let i = 0; i < 200; i++) {
      const value = newEpoch()
      expect(value).toMatch(EPOCH_PATTERN)
      expect(value).toHaveLength(8)
    }
  })

  test('returns a different epoch on each call', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newEpoch()))
    expect(seen.size).toBe(1000)
  })

  test('gives cursors that parse back', () => {
    const value = newEpoch()
    expect(parseCursor(formatCursor({ epoch: value, seq: 1 }))).toEqual({ epoch: value, seq: 1 })
  })
})

describe('EPOCH_PATTERN', () => {
  test.each(['a', '0', 'k3x9a2bq', 'z'.repeat(16)])('matches %j', (value) => {
    expect(EPOCH_PATTERN.test(value)).toBe(true)
  })

  test.each(['', 'A', 'a-b', 'z'.repeat(17), 'é'])('does not match %j', (value) => {
    expect(EPOCH_PATTERN.test(value)).toBe(false)
  })
})
