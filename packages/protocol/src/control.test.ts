import { describe, expect, test } from 'vitest'
import { type ControlMessage, formatControl, parseControl } from './control'
import { isRedisseError, RedisseError } from './errors'

function errorOf(fn: () => unknown): RedisseError {
  try {
    fn()
  } catch (err) {
    if (err instanceof RedisseError) return err
    throw err
  }
  throw new Error('expected a throw')
}

describe('control messages', () => {
  test('format as compact JSON with v, op, subject and channel', () => {
    expect(formatControl({ v: 1, op: 'add', subject: '42', channel: 'room:1' })).toBe(
      '{"v":1,"op":"add","subject":"42","channel":"room:1"}',
    )
    expect(formatControl({ v: 1, op: 'clear', subject: '42' })).toBe(
      '{"v":1,"op":"clear","subject":"42"}',
    )
  })

  test.each<ControlMessage>([
    { v: 1, op: 'add', subject: '42', channel: 'room:1' },
    { v: 1, op: 'remove', subject: 'user@example.com', channel: 'team/a' },
    { v: 1, op: 'clear', subject: '42' },
    { v: 1, op: 'revoke', subject: '42', tokenHash: 'a'.repeat(64) },
  ])('round-trip: $op', (message) => {
    expect(parseControl(formatControl(message))).toEqual(message)
  })

  test('drop unknown extra fields when parsed', () => {
    expect(parseControl('{"v":1,"op":"clear","subject":"42","channel":"x","extra":true}')).toEqual({
      v: 1,
      op: 'clear',
      subject: '42',
    })
  })

  test('reject text that is not JSON with code invalid-envelope, keeping the JSON error as cause', () => {
    const err = errorOf(() => parseControl('{not json'))
    expect(err.code).toBe('invalid-envelope')
    expect(err.message).toBe('control message is not JSON')
    expect(err.cause).toBeInstanceOf(SyntaxError)
  })

  test.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"add"'],
    ['an array', '[1]'],
    ['another version', '{"v":2,"op":"clear","subject":"42"}'],
    ['no version', '{"op":"clear","subject":"42"}'],
    ['an unknown op', '{"v":1,"op":"drop","subject":"42"}'],
    ['add without channel', '{"v":1,"op":"add","subject":"42"}'],
    ['remove with a numeric channel', '{"v":1,"op":"remove","subject":"42","channel":7}'],
    ['a numeric subject', '{"v":1,"op":"clear","subject":42}'],
    ['no subject', '{"v":1,"op":"clear"}'],
    ['revoke without tokenHash', '{"v":1,"op":"revoke","subject":"42"}'],
    [
      'revoke with a tokenHash that is not SHA-256 hex',
      '{"v":1,"op":"revoke","subject":"42","tokenHash":"xyz"}',
    ],
  ])('reject %s with code invalid-envelope', (_what, raw) => {
    let thrown: unknown
    try {
      parseControl(raw)
    } catch (err) {
      thrown = err
    }
    expect(isRedisseError(thrown, 'invalid-envelope')).toBe(true)
  })

  test('quote the start of an unknown message in the error', () => {
    expect(errorOf(() => parseControl('{"v":1,"op":"drop","subject":"42"}')).message).toBe(
      'unknown control message: {"v":1,"op":"drop","subject":"42"}',
    )
  })
})
