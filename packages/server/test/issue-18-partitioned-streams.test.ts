import {
  type PollResponse,
  parseEventId,
  parsePartitionedCursor,
  partitionOf,
} from '@redisse/protocol'
import { openSse, type SseEvent, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { createServer } from '../src/index'
import { call, startServer, TRANSPORTS } from './harness'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'

const PARTITIONS = 4
/** One channel per partition of the harness's partitioned broker: `ch0` falls in partition 0… */
const CHANNELS = (() => {
  const out: string[] = []
  for (let p = 0; p < PARTITIONS; p++) {
    let i = 0
    while (partitionOf(`ch${p}.${i}`, PARTITIONS) !== p) i++
    out.push(`ch${p}.${i}`)
  }
  return out
})()
const [A = '', B = '', C = '', D = ''] = CHANNELS
const query = (...channels: string[]) => `/?${channels.map((c) => `channel=${c}`).join('&')}`
const dataOf = (events: SseEvent[], channel?: string) =>
  events
    .filter((e) => e.event !== 'redisse:reset')
    .filter((e) => channel === undefined || e.id?.endsWith(`@${channel}`))
    .map((e) => JSON.parse(e.data) as unknown)
const resetsOf = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'redisse:reset').map((e) => JSON.parse(e.data) as unknown)
const partitionsOf = (id: string | undefined) =>
  (parsePartitionedCursor(id ?? '') ?? []).map((entry) => entry.partition)

describe.each(TRANSPORTS)('streams over a log in partitions, over %s', (transport) => {
  it('delivers every channel in publish order, each id naming every partition the stream hears', async () => {
    await using srv = await startServer('partitioned', { public: true }, { transport })
    const stream = await srv.open(query(A, B, C))
    for (let i = 0; i < 30; i++) await srv.publish(CHANNELS[i % 3] as string, 'm', i)
    const events = await stream.waitForEvents(30)
    for (const [k, channel] of [A, B, C].entries()) {
      expect(dataOf(events, channel)).toEqual([...Array(10).keys()].map((n) => n * 3 + k))
    }
    for (const event of events) expect(partitionsOf(event.id)).toEqual([0, 1, 2])
  })

  it('resumes every partition exactly from the last id, then goes live with no duplicate', async () => {
    await using srv = await startServer('partitioned', { public: true }, { transport })
    const first = await srv.open(query(A, B, C))
    await srv.publish(A, 'm', 'a1')
    await srv.publish(B, 'm', 'b1')
    await srv.publish(C, 'm', 'c1')
    const seen = await first.waitForEvents(3)
    first.close()
    for (const [channel, data] of [
      [B, 'b2'],
      [A, 'a2'],
      [C, 'c2'],
      [B, 'b3'],
    ] as const) {
      await srv.publish(channel, 'm', data)
    }
    const again = await srv.open(query(A, B, C), { 'last-event-id': seen[2]?.id ?? '' })
    for (const channel of [A, B, C]) await srv.publish(channel, 'm', `end:${channel}`)
    const events = await again.waitForEvents(7)
    expect(dataOf(events, A)).toEqual(['a2', `end:${A}`])
    expect(dataOf(events, B)).toEqual(['b2', 'b3', `end:${B}`])
    expect(dataOf(events, C)).toEqual(['c2', `end:${C}`])
    expect(resetsOf(events)).toEqual([])
    expect(events).toHaveLength(7)
  })

  it('never names a place in an id that the stream has not delivered, while its partitions replay', async () => {
    await using srv = await startServer('partitioned', { public: true }, { transport })
    const first = await srv.open(query(A, B, C))
    for (const channel of [A, B, C]) await srv.publish(channel, 'm', `${channel}:0`)
    const seen = await first.waitForEvents(3)
    first.close()
    for (let i = 1; i <= 5; i++) {
      for (const channel of [A, B, C]) await srv.publish(channel, 'm', `${channel}:${i}`)
    }
    const cursor = seen[2]?.id ?? ''
    const again = await srv.open(query(A, B, C), { 'last-event-id': cursor })
    const events = await again.waitForEvents(15)
    // Per partition, the sequences the stream holds: the cursor's, then each one delivered.
    const held = new Map<number, Set<number>>()
    for (const entry of parsePartitionedCursor(cursor) ?? [])
      held.set(entry.partition, new Set([entry.seq]))
    for (const event of events) {
      const channel = event.id?.slice(event.id.indexOf('@') + 1) ?? ''
      const entries = parsePartitionedCursor(event.id ?? '') ?? []
      const own = entries.find((e) => e.partition === partitionOf(channel, PARTITIONS))
      if (own) held.get(own.partition)?.add(own.seq)
      for (const entry of entries) {
        expect(
          held.get(entry.partition)?.has(entry.seq),
          `${event.id} names ${entry.partition}.${entry.seq}`,
        ).toBe(true)
      }
    }
  })

  it('resumes from a publish answer id: its channel replays, the other partitions are reset', async () => {
    await using srv = await startServer('partitioned', { public: true }, { transport })
    const id = await srv.publish(A, 'm', 'a1')
    await srv.publish(A, 'm', 'a2')
    await srv.publish(B, 'm', 'b1')
    const stream = await srv.open(query(A, B), { 'last-event-id': id })
    await srv.publish(B, 'm', 'b2')
    const events = await stream.waitForEvents(3)
    expect(dataOf(events)).toEqual(['a2', 'b2'])
    expect(resetsOf(events)).toEqual([{ channels: [B], reason: 'invalid-cursor' }])
  })

  it('resets only the channel whose history lapsed, replaying the other partitions', async () => {
    await using srv = await startServer(
      'partitioned',
      { public: true, history: { size: 2, ttl: 60_000 } },
      { transport },
    )
    const first = await srv.open(query(A, B))
    await srv.publish(A, 'm', 'a0')
    const [seen] = await first.waitForEvents(1)
    first.close()
    for (let i = 1; i <= 4; i++) await srv.publish(A, 'm', `a${i}`)
    await srv.publish(B, 'm', 'b1')
    const again = await srv.open(query(A, B), { 'last-event-id': seen?.id ?? '' })
    await srv.publish(A, 'm', 'a5')
    const events = await again.waitForEvents(3)
    expect(resetsOf(events)).toEqual([{ channels: [A], reason: 'history-gap' }])
    expect(dataOf(events, B)).toEqual(['b1'])
    expect(dataOf(events, A)).toEqual(['a5'])
  })

  it('answers a garbage cursor with one reset per partition, whose id resumes with nothing twice', async () => {
    await using srv = await startServer('partitioned', { public: true }, { transport })
    await srv.publish(A, 'm', 'old-a')
    await srv.publish(D, 'm', 'old-d')
    const stream = await srv.open(query(A, D), { 'last-event-id': 'garbage' })
    const resets = await stream.waitForEvents(2)
    expect(resetsOf(resets).map((r) => (r as { reason: string }).reason)).toEqual([
      'invalid-cursor',
      'invalid-cursor',
    ])
    const last = resets[1]?.id ?? ''
    expect(partitionsOf(last)).toEqual([0, 3])
    stream.close()
    const again = await srv.open(query(A, D), { 'last-event-id': last })
    await srv.publish(D, 'm', 'new-d')
    const events = await again.waitForEvents(1)
    expect(dataOf(events)).toEqual(['new-d'])
    expect(events).toHaveLength(1)
  })

  it('adds a token channel of a new partition live, and its partition joins the cursor', async () => {
    await using srv = await startServer('partitioned', { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u1')
    await subjects.addChannel('u1', A)
    const stream = await srv.open(`/?access_token=${token}`)
    await subjects.addChannel('u1', C)
    await waitFor(() => srv.server.stats().channels[C] === 1, { what: `${C} added live` })
    await srv.publish(C, 'm', 'c1')
    await srv.publish(A, 'm', 'a1')
    const events = await stream.waitForEvents(2)
    expect(dataOf(events)).toEqual(['c1', 'a1'])
    expect(partitionsOf(events[1]?.id)).toEqual([0, 2])
  })
})

describe('cursors over partitions', () => {
  it('name every partition at its place, in partition order, whatever order the events come in', async () => {
    await using srv = await startServer('partitioned', { public: true })
    const stream = await srv.open(query(C, A, B))
    const published: [string, string][] = [
      [C, 'c1'],
      [A, 'a1'],
      [C, 'c2'],
      [B, 'b1'],
    ]
    const epochs = new Map<string, string>()
    // Partitions deliver side by side: each event is awaited, to pin the order they come in.
    for (const [i, [channel, data]] of published.entries()) {
      const id = await srv.publish(channel, 'm', data)
      epochs.set(channel, id.slice(0, id.indexOf('-')))
      await stream.waitForEvents(i + 1)
    }
    const [a, b, c] = [A, B, C].map((channel) => epochs.get(channel))
    // Empty partitions stand at `<p>..0`; each event moves its own entry only.
    const ids = [
      `0..0_1..0_2.${c}.1@${C}`,
      `0.${a}.1_1..0_2.${c}.1@${A}`,
      `0.${a}.1_1..0_2.${c}.2@${C}`,
      `0.${a}.1_1.${b}.1_2.${c}.2@${B}`,
    ]
    const frames = published.map(
      ([, data], i) => `id: ${ids[i]}\nevent: m\ndata: ${JSON.stringify(data)}\n\n`,
    )
    const raw = (stream as { raw: string }).raw
    expect(raw.slice(raw.length - frames.join('').length)).toBe(frames.join(''))
  })

  it('stay under 512 bytes for a stream of 128 channels over 16 partitions', async () => {
    const server = createServer({
      logger: 'silent',
      public: true,
      broker: createPartitionedEmbeddedBroker(16),
      limits: { channelsPerConnection: 128 },
    })
    const { port } = await server.listen(0, '127.0.0.1')
    try {
      const channels = Array.from({ length: 128 }, (_, i) => `doc:${i}`)
      expect(new Set(channels.map((c) => partitionOf(c, 16))).size).toBe(16)
      for (const channel of channels) {
        for (let i = 0; i < 3; i++) await server.broker.publish({ channel, type: 'm', data: i })
      }
      const stream = await openSse(`http://127.0.0.1:${port}${query(...channels)}`)
      await stream.waitForComment('ok')
      for (const channel of channels) await server.broker.publish({ channel, type: 'm', data: 'x' })
      const events = await stream.waitForEvents(128)
      const widest = Math.max(...events.map((e) => Buffer.byteLength(e.id ?? '')))
      expect(partitionsOf(events[127]?.id)).toHaveLength(16)
      expect(widest).toBeLessThanOrEqual(512)
      stream.close()
    } finally {
      await server.close()
    }
  })
})

describe('long polling over partitions', () => {
  it('answers the head of every partition without a cursor, then the events after it', async () => {
    await using srv = await startServer('partitioned', { public: true })
    await srv.publish(A, 'm', 'old')
    const first = await call(`${srv.url}/poll${query(A, B).slice(1)}`)
    const head = (first.body as PollResponse).lastEventId ?? ''
    expect(partitionsOf(head)).toEqual([0, 1])
    await srv.publish(B, 'm', 'b1')
    await srv.publish(A, 'm', 'a1')
    const second = await call(
      `${srv.url}/poll${query(A, B).slice(1)}&lastEventId=${encodeURIComponent(head)}`,
    )
    const body = second.body as PollResponse
    // Order holds per channel; partitions replay side by side.
    expect(body.events.map((e) => e.data).sort()).toEqual(['a1', 'b1'])
    expect(partitionsOf(body.lastEventId ?? '')).toEqual([0, 1])
    expect(parseEventId(body.lastEventId ?? '')).toBeUndefined()
    // Nothing more is due: the poll waits, and the next event alone ends it.
    const third = call(
      `${srv.url}/poll${query(A, B).slice(1)}&lastEventId=${encodeURIComponent(body.lastEventId ?? '')}`,
    )
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    await srv.publish(A, 'm', 'marker')
    expect(((await third).body as PollResponse).events.map((e) => e.data)).toEqual(['marker'])
  })
})
