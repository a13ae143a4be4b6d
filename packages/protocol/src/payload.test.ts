import { describe, expect, test } from 'vitest'
import { isRedisseError, type RedisseError } from './errors'
import { DEFAULT_MAX_PAYLOAD_BYTES } from './httpApi'
import { encodePayload } from './payload'

function errorOf(fn: () => unknown): RedisseError {
  try {
    fn()
  } catch (err) {
    if (isRedisseError(err)) return err
    throw err
  }
  throw new Error('expected a throw')
}

describe('encodePayload', () => {
  test.each([
    [{ user: 'ada', text: 'hi' }, '{"user":"ada","text":"hi"}'],
    [null, 'null'],
    [0, '0'],
    ['', '""'],
    [false, 'false'],
    [[1, 'two'], '[1,"two"]'],
    ['line\nbreak', '"line\\nbreak"'],
  ])('serialises %j as JSON text', (data, json) => {
    expect(encodePayload(data)).toBe(json)
  })

  test('uses toJSON, as JSON.stringify does (dates become ISO strings)', () => {
    expect(encodePayload({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}')
  })

  test.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('rejects %s with code invalid-payload, suggesting null', (_what, data) => {
    const err = errorOf(() => encodePayload(data))
    expect(err.code).toBe('invalid-payload')
    expect(err.status).toBe(400)
    expect(err.message).toContain('send null instead')
  })

  test('rejects a cycle with code invalid-payload, keeping the TypeError as cause', () => {
    const data: Record<string, unknown> = {}
    data.self = data
    const err = errorOf(() => encodePayload(data))
    expect(err.code).toBe('invalid-payload')
    expect(err.cause).toBeInstanceOf(TypeError)
    expect(err.message).toMatch(/^payload is not JSON-serialisable: TypeError/)
  })

  test('rejects a BigInt with code invalid-payload', () => {
    expect(errorOf(() => encodePayload({ n: 10n })).code).toBe('invalid-payload')
  })

  test('accepts a payload of exactly maxBytes', () => {
    // '"' + 8 × 'a' + '"' is 10 bytes
    expect(encodePayload('a'.repeat(8), 10)).toBe(`"${'a'.repeat(8)}"`)
  })

  test('rejects one byte over maxBytes with code payload-too-large and status 413', () => {
    const err = errorOf(() => encodePayload('a'.repeat(9), 10))
    expect(err.code).toBe('payload-too-large')
    expect(err.status).toBe(413)
    expect(err.message).toBe(
      'payload is 11 bytes, over the 10-byte limit: send a reference instead, or raise maxPayloadBytes',
    )
  })

  test('counts UTF-8 bytes, not UTF-16 units: 2-byte characters', () => {
    // "é" is 1 UTF-16 unit but 2 UTF-8 bytes: 2 + 4 × 2 = 10 bytes in 6 units
    expect(encodePayload('éééé', 10)).toBe('"éééé"')
    expect(errorOf(() => encodePayload('ééééé', 11)).message).toMatch(/^payload is 12 bytes/)
  })

  test('counts UTF-8 bytes, not UTF-16 units: 3-byte and 4-byte characters', () => {
    // "€" is 3 bytes in 1 unit; "🎉" is 4 bytes in 2 units
    expect(errorOf(() => encodePayload('€€€', 10)).message).toMatch(/^payload is 11 bytes/)
    expect(encodePayload('€€€', 11)).toBe('"€€€"')
    expect(errorOf(() => encodePayload('🎉🎉', 9)).message).toMatch(/^payload is 10 bytes/)
    expect(encodePayload('🎉🎉', 10)).toBe('"🎉🎉"')
  })

  test('defaults maxBytes to DEFAULT_MAX_PAYLOAD_BYTES (64 KiB)', () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(65_536)
    expect(encodePayload('a'.repeat(65_534))).toHaveLength(65_536)
    expect(errorOf(() => encodePayload('a'.repeat(65_535))).code).toBe('payload-too-large')
  })
})
