import { chunkAt, randomChunks } from '@redisse/test-utils'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { formatCursor, formatEventId } from './cursor'
import { isRedisseError } from './errors'
import { isValidEventType, MAX_CHANNEL_LENGTH } from './names'
import { encodeComment, encodeEvent, encodeRetry } from './sse'

interface Parsed {
  events: EventSourceMessage[]
  ids: string[]
  retries: number[]
  comments: string[]
}

/** Feeds string chunks to a real SSE parser and records everything it reports. */
function parseChunks(chunks: Iterable<string>): Parsed {
  const parsed: Parsed = { events: [], ids: [], retries: [], comments: [] }
  const parser = createParser({
    onEvent: (event) => parsed.events.push(event),
    onId: (id) => parsed.ids.push(id),
    onRetry: (ms) => parsed.retries.push(ms),
    onComment: (text) => parsed.comments.push(text),
  })
  for (const chunk of chunks) parser.feed(chunk)
  return parsed
}

/** Decodes byte chunks the way a browser reads a response body: one decoder, stream mode. */
function decodeChunks(chunks: Uint8Array[]): string[] {
  const decoder = new TextDecoder()
  const out = chunks.map((chunk) => decoder.decode(chunk, { stream: true }))
  out.push(decoder.decode())
  return out
}

const utf8 = (text: string) => new TextEncoder().encode(text)

const channel = fc.string({
  unit: fc.constantFrom(...'ABZabz09_-.:@/=+'),
  minLength: 1,
  maxLength: MAX_CHANNEL_LENGTH,
})

const eventType = fc
  .oneof(
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 100 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }),
  )
  .filter((type) => isValidEventType(type, { allowReserved: true }))

const eventId = fc
  .record({
    epoch: fc.stringMatching(/^[0-9a-z]{1,16}$/),
    seq: fc.integer({ min: 0, max: 999_999_999_999_999 }),
    channel,
  })
  .map(({ epoch, seq, channel }) => formatEventId(formatCursor({ epoch, seq }), channel))

/** Any text, weighted towards line breaks, NUL and fragments that look like SSE fields. */
const hostileText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\r', '\n', '\r\n', '\n\n', '\r\r', '\0', '\uFEFF', ':', ' '),
    fc.constantFrom('data: x', 'event: forged', 'id: forged', 'retry: 1', ': comment'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
})

const splitSeed = fc.integer({ min: 1, max: 0xffff_ffff })

describe('encodeEvent', () => {
  test('writes id, event and data fields in that order, ending with a blank line', () => {
    expect(encodeEvent({ id: 'a1-7@room:42', event: 'message', data: '{"text":"hi"}' })).toBe(
      'id: a1-7@room:42\nevent: message\ndata: {"text":"hi"}\n\n',
    )
  })

  test('omits id and event when they are not given', () => {
    expect(encodeEvent({ data: '1' })).toBe('data: 1\n\n')
  })

  test('writes an empty id and an empty data line when both are empty strings', () => {
    expect(encodeEvent({ id: '', data: '' })).toBe('id: \ndata: \n\n')
  })

  test('splits data into one data line per line, whatever the line break (LF, CR, CRLF)', () => {
    expect(encodeEvent({ data: 'a\nb\rc\r\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n')
  })

  test('keeps empty lines of data, including leading and trailing ones', () => {
    expect(encodeEvent({ data: '\na\n\n' })).toBe('data: \ndata: a\ndata: \ndata: \n\n')
  })

  test('keeps leading spaces of data lines (the parser strips only the one after the colon)', () => {
    expect(encodeEvent({ data: '  indented' })).toBe('data:   indented\n\n')
  })

  test.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
    ['NUL', 'a\0b'],
  ])('rejects %s in the id with code invalid-sse-field', (_name, id) => {
    expect(() => encodeEvent({ id, data: '1' })).toThrowError(
      expect.objectContaining({ name: 'RedisseError', code: 'invalid-sse-field' }),
    )
  })

  test.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
  ])('rejects %s in the event type with code invalid-sse-field', (_name, event) => {
    expect(() => encodeEvent({ event, data: '1' })).toThrowError(
      expect.objectContaining({ name: 'RedisseError', code: 'invalid-sse-field' }),
    )
  })

  test('names the offending field in the error message', () => {
    expect(() => encodeEvent({ event: 'x\ny', data: '1' })).toThrowError(/"event".*CR, LF/)
    expect(() => encodeEvent({ id: 'x\0y', data: '1' })).toThrowError(/"id".*CR, LF or NUL/)
  })

  test('accepts NUL in the event type, which the spec allows there', () => {
    expect(encodeEvent({ event: 'a\0b', data: '1' })).toBe('event: a\0b\ndata: 1\n\n')
  })
})

describe('encodeComment', () => {
  test('writes one comment line without a blank line after it', () => {
    expect(encodeComment('ok')).toBe(':ok\n')
  })

  test('writes an empty comment by default', () => {
    expect(encodeComment()).toBe(':\n')
  })

  test('writes one comment line per line of multi-line text', () => {
    expect(encodeComment('a\r\nb\rc\nd')).toBe(':a\n:b\n:c\n:d\n')
  })

  test('leaves the next event intact when it follows in the same block', () => {
    const text = encodeRetry(10) + encodeComment('ok') + encodeEvent({ id: 'a-1@x', data: '1' })
    expect(text).toBe('retry: 10\n:ok\nid: a-1@x\ndata: 1\n\n')
    const parsed = parseChunks([text])
    expect(parsed.events).toEqual([{ id: 'a-1@x', event: undefined, data: '1' }])
    expect(parsed.retries).toEqual([10])
    expect(parsed.comments).toEqual(['ok'])
  })

  test('dispatches no event in a real parser, even with text that looks like fields', () => {
    const parsed = parseChunks([encodeComment('x\ndata: forged\nid: forged\n\nevent: y')])
    expect(parsed.events).toEqual([])
    expect(parsed.ids).toEqual([])
    expect(parsed.comments).toEqual(['x', 'data: forged', 'id: forged', '', 'event: y'])
  })
})

describe('encodeRetry', () => {
  test('writes the retry field in milliseconds, without a blank line after it', () => {
    expect(encodeRetry(5000)).toBe('retry: 5000\n')
  })

  test('accepts zero', () => {
    expect(encodeRetry(0)).toBe('retry: 0\n')
  })

  test('is read back by a real parser as the reconnection time', () => {
    expect(parseChunks([encodeRetry(2500)]).retries).toEqual([2500])
  })

  test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])(
    'rejects %s with code invalid-option',
    (ms) => {
      let thrown: unknown
      try {
        encodeRetry(ms)
      } catch (err) {
        thrown = err
      }
      expect(isRedisseError(thrown, 'invalid-option')).toBe(true)
    },
  )
})

describe('encodeEvent through a real SSE parser (eventsource-parser)', () => {
  test('gives back any JSON value with its event type and id, in one chunk', () => {
    fc.assert(
      fc.property(fc.jsonValue(), eventType, eventId, (value, event, id) => {
        const data = JSON.stringify(value)
        const parsed = parseChunks([encodeEvent({ id, event, data })])
        expect(parsed.events).toEqual([{ id, event, data }])
      }),
    )
  })

  test('gives back any JSON value with its event type and id, fed as random UTF-8 byte chunks', () => {
    fc.assert(
      fc.property(fc.jsonValue(), eventType, eventId, splitSeed, (value, event, id, seed) => {
        const data = JSON.stringify(value)
        const bytes = utf8(encodeEvent({ id, event, data }))
        const parsed = parseChunks(decodeChunks(randomChunks(bytes, seed)))
        expect(parsed.events).toEqual([{ id, event, data }])
      }),
    )
  })

  test('gives back any JSON value when the text is split at arbitrary UTF-16 offsets', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        eventType,
        eventId,
        fc.array(fc.nat({ max: 2000 }), { maxLength: 12 }),
        (value, event, id, offsets) => {
          const data = JSON.stringify(value)
          const text = encodeEvent({ id, event, data })
          const cuts = [0, ...offsets.filter((o) => o < text.length).sort((a, b) => a - b)]
          const chunks = cuts.map((cut, i) => text.slice(cut, cuts[i + 1]))
          expect(parseChunks(chunks).events).toEqual([{ id, event, data }])
        },
      ),
    )
  })

  test('delivers every byte boundary of a multi-byte, multi-line event intact', () => {
    const data = '{"text":"héllo\\n 世界 🎉"}\r\nsecond line\rthird'
    const bytes = utf8(encodeEvent({ id: 'e1-2@room:42', event: 'message', data }))
    for (let cut = 1; cut < bytes.length; cut++) {
      const parsed = parseChunks(decodeChunks(chunkAt(bytes, [cut])))
      expect(parsed.events).toEqual([
        {
          id: 'e1-2@room:42',
          event: 'message',
          data: '{"text":"héllo\\n 世界 🎉"}\nsecond line\nthird',
        },
      ])
    }
  })

  test('yields exactly one event for any data, with CRLF and CR turned into LF', () => {
    fc.assert(
      fc.property(hostileText, splitSeed, (data, seed) => {
        const expected = data.replace(/\r\n?/g, '\n')
        const bytes = utf8(encodeEvent({ data }))
        for (const chunks of [[encodeEvent({ data })], decodeChunks(randomChunks(bytes, seed))]) {
          const parsed = parseChunks(chunks)
          expect(parsed.events).toEqual([{ id: undefined, event: undefined, data: expected }])
          expect(parsed.ids).toEqual([])
          expect(parsed.retries).toEqual([])
        }
      }),
    )
  })

  test('never lets data forge an id, event or retry next to a real id and event', () => {
    fc.assert(
      fc.property(hostileText, eventType, eventId, (data, event, id) => {
        const parsed = parseChunks([encodeEvent({ id, event, data })])
        expect(parsed.events).toEqual([{ id, event, data: data.replace(/\r\n?/g, '\n') }])
        expect(parsed.ids).toEqual([id])
        expect(parsed.retries).toEqual([])
      }),
    )
  })

  test('keeps consecutive events apart', () => {
    const text =
      encodeEvent({ id: 'a-1@x', event: 'one', data: 'a\n\nb' }) +
      encodeComment('ok') +
      encodeEvent({ id: 'a-2@y', event: 'two', data: '"c"' })
    expect(parseChunks([text]).events).toEqual([
      { id: 'a-1@x', event: 'one', data: 'a\n\nb' },
      { id: 'a-2@y', event: 'two', data: '"c"' },
    ])
  })
})
