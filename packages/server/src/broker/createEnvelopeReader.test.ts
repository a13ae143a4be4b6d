import { createKeys, formatEnvelope } from '@redisse/protocol'
import { afterEach, describe, expect, test, vi } from 'vitest'
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
  afterEach(() => {
    vi.restoreAllMocks()
  })

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

  test('parses the data of an envelope read again (live, then in replays) only once', () => {
    const { reader, keys } = setup()
    const parse = vi.spyOn(JSON, 'parse')
    const raw = formatEnvelope({ ...good, data: '{"text":"hi"}' })
    const first = reader.read(raw, keys.pubsub('a'), 'bus')
    for (let i = 0; i < 100; i++) {
      expect(reader.read(raw.slice(0, 5) + raw.slice(5), keys.pubsub('a'), 'history')).toBe(first)
    }
    expect(parse).toHaveBeenCalledTimes(1)
  })

  test('still drops a remembered envelope read from another channel', () => {
    const { reader, keys } = setup()
    const raw = formatEnvelope(good)
    expect(reader.read(raw, keys.pubsub('a'), 'bus')).toEqual(good)
    expect(reader.read(raw, keys.pubsub('b'), 'bus')).toBeUndefined()
    expect(reader.dropped).toBe(1)
  })

  test('remembers a bounded amount of text, the newest', () => {
    const { reader, keys } = setup()
    const parse = vi.spyOn(JSON, 'parse')
    const big = (n: number) =>
      formatEnvelope({ ...good, id: `k3x9a2bq-${n}`, data: `"${'x'.repeat(1024 * 1024)}"` })
    for (let n = 1; n <= 10; n++) reader.read(big(n), keys.pubsub('a'), 'bus')
    expect(parse).toHaveBeenCalledTimes(10)
    reader.read(big(10), keys.pubsub('a'), 'history')
    expect(parse).toHaveBeenCalledTimes(10)
    reader.read(big(1), keys.pubsub('a'), 'history')
    expect(parse).toHaveBeenCalledTimes(11)
  })
})

describe('createEnvelopeReader once its cache is full', () => {
  // Regression (issue 18 §5(c)): the cache evicted its oldest entry on every
  // read once full, and a Map iterator walks every slot a delete left
  // behind, so each bus event paid a walk over tens of thousands of them
  // (about 6x the cost of an event, measured by bench/scripts/envelopePath.ts).
  // Counted, not timed: the walks start with an iterator over the cache.
  test('walks its oldest entries once per thousands of reads, not once per read', () => {
    const { reader, keys } = setup()
    const data = JSON.stringify({ t: 1_763_856_000_000, p: 'x'.repeat(60) })
    const read = (i: number) => {
      const channel = `u${i % 10_000}`
      const raw = formatEnvelope({ id: `k3x9a2bq-${i + 1}`, channel, type: 'e', ts: 1, data })
      reader.read(raw, keys.pubsub(channel), 'bus')
    }
    // ~120 characters each: 70k of them fill the 8 Mi characters.
    for (let i = 0; i < 80_000; i++) read(i)
    const walks = vi.spyOn(Map.prototype, 'keys')
    try {
      for (let i = 80_000; i < 140_000; i++) read(i)
      expect(walks.mock.calls.length).toBeLessThan(100)
    } finally {
      walks.mockRestore()
    }
    expect(reader.dropped).toBe(0)
  })
})
