import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ENVELOPE_VERSION, type Envelope, formatEnvelope, parseEnvelope } from './envelope'
import { isRedisseError } from './errors'

const sample: Envelope = {
  id: 'k3x9a2bq-42',
  channel: 'room:42',
  type: 'message',
  ts: 1_763_856_000_123,
  data: '{"text":"hi"}',
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return isRedisseError(err) ? err.code : `not a RedisseError: ${String(err)}`
  }
  return undefined
}

describe('formatEnvelope', () => {
  test('writes version, id, channel, type, ts and data on LF-separated lines', () => {
    expect(formatEnvelope(sample)).toBe(
      'redisse/1\nk3x9a2bq-42\nroom:42\nmessage\n1763856000123\n{"text":"hi"}',
    )
  })

  test('starts with ENVELOPE_VERSION', () => {
    expect(ENVELOPE_VERSION).toBe('redisse/1')
    expect(formatEnvelope(sample).startsWith(`${ENVELOPE_VERSION}\n`)).toBe(true)
  })
})

describe('parseEnvelope', () => {
  test('reads back what formatEnvelope wrote', () => {
    expect(parseEnvelope(formatEnvelope(sample))).toEqual(sample)
  })

  test('keeps line breaks of data, which comes last', () => {
    const envelope = { ...sample, data: '{\n  "text": "a\\nb"\r\n}\n\n' }
    expect(parseEnvelope(formatEnvelope(envelope))).toEqual(envelope)
  })

  test('reads empty data', () => {
    expect(parseEnvelope('redisse/1\ne-1\nch\nt\n0\n')).toEqual({
      id: 'e-1',
      channel: 'ch',
      type: 't',
      ts: 0,
      data: '',
    })
  })

  test('round-trips any data and any type and channel without LF', () => {
    const noLf = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes('\n'))
    fc.assert(
      fc.property(
        noLf,
        noLf,
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.nat(),
        (channel, type, data, ts) => {
          const envelope = { id: 'e-1', channel, type, ts, data }
          expect(parseEnvelope(formatEnvelope(envelope))).toEqual(envelope)
        },
      ),
    )
  })

  test.each([
    ['empty text', ''],
    ['only the version', 'redisse/1'],
    ['a missing data line', 'redisse/1\ne-1\nch\nt\n1'],
    ['an unknown version', 'redisse/2\ne-1\nch\nt\n1\n{}'],
    ['no version line', 'e-1\nch\nt\n1\n{}\n'],
    ['an empty id', 'redisse/1\n\nch\nt\n1\n{}'],
    ['an empty channel', 'redisse/1\ne-1\n\nt\n1\n{}'],
    ['an empty type', 'redisse/1\ne-1\nch\n\n1\n{}'],
    ['an empty ts', 'redisse/1\ne-1\nch\nt\n\n{}'],
    ['a ts that is not a number', 'redisse/1\ne-1\nch\nt\nsoon\n{}'],
    ['a negative ts', 'redisse/1\ne-1\nch\nt\n-5\n{}'],
    ['a JSON document instead', '{"id":"e-1","channel":"ch"}'],
    ['CRLF line breaks', 'redisse/1\r\ne-1\r\nch\r\nt\r\n1\r\n{}'],
  ])('rejects %s with code invalid-envelope', (_what, raw) => {
    expect(codeOf(() => parseEnvelope(raw))).toBe('invalid-envelope')
  })

  test('error message names the expected version and quotes the text', () => {
    expect(() => parseEnvelope('redisse/2\ne-1\nch\nt\n1\n{}')).toThrowError(
      'malformed envelope (expected redisse/1): "redisse/2\\ne-1\\nch\\nt\\n1\\n{}"',
    )
  })
})
