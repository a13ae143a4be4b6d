import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ENVELOPE_VERSION, type Envelope, epochOf, formatEnvelope, parseEnvelope } from './envelope'
import { isRedisseError } from './errors'
import { isValidEventType } from './names'

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

  test('round-trips any valid channel, type and JSON data', () => {
    const channel = fc.stringMatching(/^[A-Za-z0-9_\-.:@/=+]{1,200}$/)
    const type = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((t) => isValidEventType(t))
    fc.assert(
      fc.property(channel, type, fc.json(), fc.nat(), (channel, type, data, ts) => {
        const envelope = { id: 'k3x9a2bq-7', channel, type, ts, data }
        expect(parseEnvelope(formatEnvelope(envelope))).toEqual(envelope)
      }),
    )
  })

  test('rejects any data that JSON.parse refuses, and only that', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), (data) => {
        let json = true
        try {
          JSON.parse(data)
        } catch {
          json = false
        }
        const raw = formatEnvelope({ ...sample, data })
        expect(codeOf(() => parseEnvelope(raw))).toBe(json ? undefined : 'invalid-envelope')
      }),
    )
  })

  test.each([
    ['a type with CR', { type: 'evil\revent: forged' }],
    ['a type with NUL', { type: 'evil\0' }],
    ['a type with U+2028', { type: 'evil\u2028x' }],
    ['a type with U+2029', { type: 'evil\u2029x' }],
    ['a type with U+0085', { type: 'evil\u0085x' }],
    ['a reserved type', { type: 'redisse:reset' }],
    ['a type of 101 characters', { type: 't'.repeat(101) }],
    ['a channel with CR', { channel: 'room\r42' }],
    ['a channel with a glob', { channel: 'room:*' }],
    ['a channel with a space', { channel: 'room 42' }],
    ['an id that is no cursor', { id: 'not a cursor' }],
    ['an id with a channel part', { id: 'k3x9a2bq-42@room:42' }],
    ['an id with an uppercase epoch', { id: 'K3X9-42' }],
    ['an id with a negative seq', { id: 'k3x9--42' }],
    ['data that is not JSON', { data: '{"text":' }],
    ['data that would splice a forged frame', { data: '1},{"type":"forged","data":2' }],
    ['two JSON values', { data: '{} {}' }],
    ['a JavaScript literal', { data: 'undefined' }],
    ['single-quoted strings', { data: "'hi'" }],
  ] as const)('rejects an envelope with %s, with code invalid-envelope', (_what, change) => {
    const raw = formatEnvelope({ ...sample, ...change })
    expect(codeOf(() => parseEnvelope(raw))).toBe('invalid-envelope')
  })

  test('says which field is wrong, and where such an envelope comes from', () => {
    expect(() => parseEnvelope(formatEnvelope({ ...sample, data: 'nope' }))).toThrowError(
      /^invalid envelope, its data is not JSON text: ".*"; it was not written by a Redisse publisher/,
    )
    expect(() => parseEnvelope(formatEnvelope({ ...sample, type: 'a\rb' }))).toThrowError(
      /its event type is not valid or is reserved/,
    )
  })

  test('reads JSON data with whitespace and line breaks around and inside it', () => {
    const envelope = { ...sample, data: ' \n{ "a" :\r\n [1, 2] }\t\n' }
    expect(parseEnvelope(formatEnvelope(envelope))).toEqual(envelope)
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

describe('epochOf', () => {
  test('reads the epoch of an envelope from the bus, which parseEnvelope keeps free of dashes', () => {
    expect(epochOf(parseEnvelope(formatEnvelope(sample)))).toBe('k3x9a2bq')
    // The one id form where the last dash would not end the epoch never gets this far.
    expect(codeOf(() => parseEnvelope(formatEnvelope({ ...sample, id: 'k3x-9a2bq-42' })))).toBe(
      'invalid-envelope',
    )
  })
})
