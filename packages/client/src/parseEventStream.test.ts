import { chunkAt, randomChunks } from '@redisse/test-utils'
import { createParser } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseEventStream } from './parseEventStream'

/** Feeds `chunks` and logs every callback, in order. */
function parse(chunks: string[]): string[] {
  const log: string[] = []
  const feed = parseEventStream({
    id: (id) => log.push(`id ${JSON.stringify(id)}`),
    event: (type, data) => log.push(`event ${type} ${JSON.stringify(data)}`),
    retry: (ms) => log.push(`retry ${ms}`),
  })
  for (const chunk of chunks) feed(chunk)
  return log
}

/** The same log from eventsource-parser, the reference implementation. */
function reference(text: string): string[] {
  const log: string[] = []
  const parser = createParser({
    onId: (id) => log.push(`id ${JSON.stringify(id)}`),
    onEvent: (e) => log.push(`event ${e.event || 'message'} ${JSON.stringify(e.data)}`),
    onRetry: (ms) => log.push(`retry ${ms}`),
  })
  parser.feed(text)
  return log
}

describe('parseEventStream', () => {
  it('treats a CRLF split across chunks as one line end', () => {
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual(['event message "a\\nb"'])
  })

  it('ends a line on a lone CR at the end of a chunk', () => {
    expect(parse(['data: a\r', 'data: b\r\r'])).toEqual(['event message "a\\nb"'])
  })

  it('reports the id of a block without data, and not of an unfinished block', () => {
    expect(parse(['id: 1\n\nid: 2\ndata: x'])).toEqual(['id "1"'])
  })

  it('takes retry of ASCII digits only', () => {
    expect(parse(['retry: 10\nretry: 1e3\nretry: -5\nretry:  7\nretry: 20\n\n'])).toEqual([
      'retry 10',
      'retry 20',
    ])
  })

  it('matches eventsource-parser on random streams in random chunks', () => {
    const field = fc.constantFrom('data', 'event', 'id', 'retry', '', 'dat', 'DATA', ' data')
    const value = fc.oneof(
      fc.constantFrom('', ' ', 'x', ' x', '  y', 'a:b', '12', ' 34', '5x', 'a\u0000b', 'é🎉'),
      fc.string({ maxLength: 6 }).map((s) => s.replace(/[\r\n]/g, '')),
    )
    const line = fc.oneof(
      fc.tuple(field, fc.boolean(), value).map(([f, colon, v]) => (colon ? `${f}:${v}` : f)),
      value.map((v) => `:${v}`),
      fc.constant(''),
    )
    const ending = fc.constantFrom('\n', '\r', '\r\n')
    const stream = fc.array(fc.tuple(line, ending), { maxLength: 30 })
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 1000 }), (lines, seed) => {
        const text = lines.map(([l, e]) => l + e).join('')
        const expected = reference(text)
        expect(parse([text])).toEqual(expected)
        const bytes = new TextEncoder().encode(text)
        const decoder = new TextDecoder()
        const chunks = randomChunks(bytes, seed).map((c) => decoder.decode(c, { stream: true }))
        expect(parse(chunks)).toEqual(expected)
        const single = chunkAt(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ).map((c) => decoder.decode(c, { stream: true }))
        expect(parse(single)).toEqual(expected)
      }),
      { numRuns: 300 },
    )
  })
})

describe('parseEventStream bounds', () => {
  const feedOf = (max: number) =>
    parseEventStream({ id: () => {}, event: () => {}, retry: () => {} }, max)

  it('throws payload-too-large when a line never ends', () => {
    const feed = feedOf(64)
    feed('data: ')
    expect(() => {
      for (let i = 0; i < 10; i++) feed('x'.repeat(10))
    }).toThrow(expect.objectContaining({ code: 'payload-too-large' }))
  })

  it('throws payload-too-large when an event keeps adding data lines without a blank line', () => {
    const feed = feedOf(64)
    expect(() => {
      for (let i = 0; i < 20; i++) feed('data: 0123456789\n')
    }).toThrow(expect.objectContaining({ code: 'payload-too-large' }))
  })

  it('takes events up to the bound, block after block', () => {
    const got: string[] = []
    const feed = parseEventStream(
      { id: () => {}, event: (_, data) => got.push(data), retry: () => {} },
      64,
    )
    for (let i = 0; i < 100; i++) feed(`data: ${'y'.repeat(50)}\n\n`)
    expect(got).toHaveLength(100)
  })
})
