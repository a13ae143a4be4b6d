import { randomChunks } from '@redisse/test-utils'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { formatCursor, parseEventId } from './cursor'
import type { Envelope } from './envelope'
import { encodeEnvelope } from './frame'
import { isValidEventType, MAX_CHANNEL_LENGTH } from './names'

/** Every event a real SSE parser reads from `chunks`. */
function parseChunks(chunks: Iterable<string>): EventSourceMessage[] {
  const events: EventSourceMessage[] = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  for (const chunk of chunks) parser.feed(chunk)
  return events
}

/** UTF-8 bytes of `text`, split at random offsets and decoded with one streaming decoder. */
function randomTextChunks(text: string, seed: number): string[] {
  const decoder = new TextDecoder()
  const chunks = randomChunks(new TextEncoder().encode(text), seed).map((chunk) =>
    decoder.decode(chunk, { stream: true }),
  )
  chunks.push(decoder.decode())
  return chunks
}

const sample: Envelope = {
  id: 'k3x9a2bq-42',
  channel: 'room:42',
  type: 'message',
  ts: 1_763_856_000_123,
  data: '{"text":"hi"}',
}

const epoch = fc.stringMatching(/^[0-9a-z]{1,16}$/)
const seq = fc.integer({ min: 0, max: 999_999_999_999_999 })
const channel = fc.string({
  unit: fc.constantFrom(...'ABZabz09_-.:@/=+'),
  minLength: 1,
  maxLength: MAX_CHANNEL_LENGTH,
})
const eventType = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 100 })
  .filter((type) => isValidEventType(type, { allowReserved: true }))

describe('encodeEnvelope', () => {
  test('writes the cursor and channel as id, the type as event and data as published', () => {
    expect(encodeEnvelope(sample)).toBe(
      'id: k3x9a2bq-42@room:42\nevent: message\ndata: {"text":"hi"}\n\n',
    )
  })

  test('writes the channel as event with channelAsEvent', () => {
    expect(encodeEnvelope(sample, { channelAsEvent: true })).toBe(
      'id: k3x9a2bq-42@room:42\nevent: room:42\ndata: {"text":"hi"}\n\n',
    )
  })

  test('splits pretty-printed JSON data into several data lines', () => {
    expect(encodeEnvelope({ ...sample, data: '{\n  "a": 1\n}' })).toBe(
      'id: k3x9a2bq-42@room:42\nevent: message\ndata: {\ndata:   "a": 1\ndata: }\n\n',
    )
  })

  test('round-trips through a real parser: id gives back cursor and channel, data and type unchanged', () => {
    fc.assert(
      fc.property(
        epoch,
        seq,
        channel,
        eventType,
        fc.jsonValue(),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        (epoch, seq, channel, type, value, seed) => {
          const envelope: Envelope = {
            id: formatCursor({ epoch, seq }),
            channel,
            type,
            ts: 0,
            data: JSON.stringify(value, null, seed % 3),
          }
          const events = parseChunks(randomTextChunks(encodeEnvelope(envelope), seed))
          expect(events).toHaveLength(1)
          const [event] = events
          expect(event?.data).toBe(envelope.data)
          expect(event?.event).toBe(type)
          expect(parseEventId(event?.id ?? '')).toEqual({ cursor: { epoch, seq }, channel })
        },
      ),
    )
  })

  test('round-trips the channel as event type with channelAsEvent', () => {
    fc.assert(
      fc.property(epoch, seq, channel, (epoch, seq, channel) => {
        const envelope = { ...sample, id: formatCursor({ epoch, seq }), channel }
        const events = parseChunks([encodeEnvelope(envelope, { channelAsEvent: true })])
        expect(events).toEqual([
          { id: `${envelope.id}@${channel}`, event: channel, data: sample.data },
        ])
      }),
    )
  })
})
