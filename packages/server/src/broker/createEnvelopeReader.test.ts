import { createKeys, formatEnvelope } from '@redisse/protocol'
import { describe, expect, test } from 'vitest'
import type { Logger } from '../createLogger'
import { createEnvelopeReader } from './createEnvelopeReader'

function setup() {
  const lines: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = []
  const record = (msg: string, fields?: Record<string, unknown>) => lines.push({ msg, fields })
  const logger: Logger = { debug: record, info: record, warn: record, error: record }
  let time = 0
  const keys = createKeys('p:')
  const reader = createEnvelopeReader({ keys, logger, now: () => time })
  return { reader, keys, lines, advance: (ms: number) => (time += ms) }
}

const good = { id: 'k3x9a2bq-1', channel: 'a', type: 'm', ts: 1, data: '{}' }

describe('createEnvelopeReader', () => {
  test('returns valid envelopes of the channel they came from', () => {
    const { reader, keys, lines } = setup()
    expect(reader.read(formatEnvelope(good), keys.pubsub('a'), 'bus')).toEqual(good)
    expect(reader.dropped).toBe(0)
    expect(lines).toEqual([])
  })

  test.each([
    ['a type with CR', formatEnvelope({ ...good, type: 'a\rb' }), 'a'],
    ['data that is not JSON', formatEnvelope({ ...good, data: '{' }), 'a'],
    ['another channel than its own', formatEnvelope(good), 'b'],
    ['text that is no envelope', 'hello', 'a'],
  ])('drops, counts and logs %s, without throwing', (_what, raw, from) => {
    const { reader, keys, lines } = setup()
    expect(reader.read(raw, keys.pubsub(from), 'history')).toBeUndefined()
    expect(reader.dropped).toBe(1)
    expect(lines).toEqual([
      {
        msg: 'dropped an invalid envelope',
        fields: expect.objectContaining({ source: 'history', pubsubChannel: keys.pubsub(from) }),
      },
    ])
  })

  test('logs one line per second at most, with the count of those it left out', () => {
    const { reader, keys, lines, advance } = setup()
    for (let i = 0; i < 1000; i++) reader.read('junk', keys.pubsub('a'), 'bus')
    advance(1000)
    reader.read('junk', keys.pubsub('a'), 'bus')
    expect(reader.dropped).toBe(1001)
    expect(lines).toHaveLength(2)
    expect(lines[0]?.fields).not.toHaveProperty('alsoDroppedSinceLastLine')
    expect(lines[1]?.fields).toMatchObject({ alsoDroppedSinceLastLine: 999 })
  })
})
