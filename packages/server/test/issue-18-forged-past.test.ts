import { createKeys, parseEventId } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import type { Broker } from '../src/broker/Broker'
import { createLogger, createRedisBroker, createServer } from '../src/index'
import { gate, withGates } from './brokerGates'
import { type Recorder, recordSse } from './failoverStreams'
import { serveOnBroker } from './serveOnBroker'

// Issue 18: a well-formed envelope PUBLISHed on the bus by a hostile or
// broken peer (it never went through the publish script) at a sequence of
// the epoch followed that the node had already heard made the node take the
// log for one that went backwards: it replaced the epoch in Redis, for
// every node, and reset every stream. One of an epoch the log is not under
// reset every stream of the node, and the next real event (of the real
// epoch again) reset them a second time. One PUBLISH each, repeatable.

const cleanup = cleanupAfterEach()

async function setUp() {
  const prefix = uniquePrefix('forgedpast')
  const keys = createKeys(prefix)
  const peer = new Redis(inject('redisUrl'))
  cleanup.push(() => peer.disconnect())
  const lines: string[] = []
  const server = createServer({
    logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }),
    redis: inject('redisUrl'),
    prefix,
    public: true,
  })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: inject('redisUrl'), prefix })
  cleanup.push(() => pub.close())
  const streams = [await recordSse(url, 'news'), await recordSse(url, 'other')]
  cleanup.push(() => {
    for (const s of streams) s.close()
  })
  let last = ''
  for (let n = 1; n <= 3; n++) last = await pub.publish('news', 'count', n)
  await pub.publish('other', 'count', 1)
  const epoch = parseEventId(last)?.cursor.epoch ?? ''
  /** What the publish script would put on the bus, but published raw by a peer. */
  const forge = (channel: string, id: string) =>
    peer.publish(keys.pubsub(channel), `redisse/1\n${id}\n${channel}\ncount\n${Date.now()}\n999`)
  /** Publishes the SDK's `end` marker on both channels and waits for it on every stream. */
  const endAll = async () => {
    await pub.publish('news', 'end', null)
    await pub.publish('other', 'end', null)
    await waitFor(() => streams.every((s) => s.ended), { what: 'the end marker on every stream' })
    for (const s of streams) s.close()
  }
  return { keys, peer, server, pub, streams, epoch, forge, endAll, lines }
}

const summary = (streams: Recorder[]) =>
  streams.map((s) => ({ resets: s.resets, runs: s.log.runs }))

describe('issue 18: a forged envelope at a past sequence, or of another epoch, on the bus', () => {
  it('at a sequence already heard: resets no stream, keeps the epoch, is dropped and counted', async () => {
    const { keys, peer, server, pub, streams, epoch, forge, endAll, lines } = await setUp()
    const before = server.stats().dropped.envelopes
    await forge('news', `${epoch}-1`)
    for (let n = 4; n <= 5; n++) await pub.publish('news', 'count', n)
    await pub.publish('other', 'count', 2)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4, 5]] },
      { resets: 0, runs: [[1, 2]] },
    ])
    expect(server.stats().dropped.envelopes - before).toBe(1)
    expect(await peer.get(keys.epoch)).toBe(epoch)
    // Where it claimed to be, not what it carried.
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(logged.map((line) => Object.keys(line).sort())).toEqual([
      ['channel', 'id', 'level', 'msg', 'time'],
    ])
    expect(logged[0]).toMatchObject({
      level: 'warn',
      msg: 'dropped an envelope from the bus that the log never held (at a sequence already heard, which the log did not hand out again)',
      id: `${epoch}-1`,
      channel: 'news',
    })
  })

  it('at the sequence of the newest event heard, several times: none resets a stream', async () => {
    const { keys, peer, server, pub, streams, epoch, forge, endAll } = await setUp()
    const before = server.stats().dropped.envelopes
    const tip = Number(await peer.get(keys.seq))
    for (let i = 0; i < 3; i++) await forge(i === 1 ? 'other' : 'news', `${epoch}-${tip}`)
    await pub.publish('news', 'count', 4)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4]] },
      { resets: 0, runs: [[1]] },
    ])
    expect(server.stats().dropped.envelopes - before).toBe(3)
    expect(await peer.get(keys.epoch)).toBe(epoch)
  })

  // A copy is what history holds, so history alone cannot tell it from an
  // event the log handed that sequence to again. The newest event heard,
  // still in history exactly, can: a log that went backwards lost it.
  it('as an exact copy of an event heard, sent again: resets no stream, keeps the epoch', async () => {
    const { keys, peer, server, pub, streams, epoch, endAll } = await setUp()
    const before = server.stats().dropped.envelopes
    const [copy] = await peer.zrangebyscore(keys.history('news'), 2, 2)
    expect(copy).toContain(`\n${epoch}-2\n`)
    await peer.publish(keys.pubsub('news'), copy ?? '')
    for (let n = 4; n <= 5; n++) await pub.publish('news', 'count', n)
    await pub.publish('other', 'count', 2)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4, 5]] },
      { resets: 0, runs: [[1, 2]] },
    ])
    expect(server.stats().dropped.envelopes - before).toBe(1)
    expect(await peer.get(keys.epoch)).toBe(epoch)
  })

  it('of another epoch: resets no stream, once or when the real log goes on', async () => {
    const { keys, peer, server, pub, streams, epoch, forge, endAll } = await setUp()
    const before = server.stats().dropped.envelopes
    await forge('news', 'forged0epoch-1')
    for (let n = 4; n <= 5; n++) await pub.publish('news', 'count', n)
    await forge('other', 'forged1epoch-7')
    await pub.publish('other', 'count', 2)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4, 5]] },
      { resets: 0, runs: [[1, 2]] },
    ])
    expect(server.stats().dropped.envelopes - before).toBe(2)
    expect(await peer.get(keys.epoch)).toBe(epoch)
  })
})

describe('issue 18: a real event at a past sequence, confirmed', () => {
  // The node hears the regression late (its subscriber behind the log): by
  // then the new log has grown past what the node heard, so the head does
  // not show it went backwards. History holding the event at its sequence
  // does: the publish script handed that sequence out again.
  it('still replaces the epoch and resets the streams when only history shows it', async () => {
    const prefix = uniquePrefix('realpast')
    const { broker, gates } = withGates(
      createRedisBroker({
        redis: inject('redisUrl'),
        prefix,
        logger: createLogger({ level: 'silent' }),
        probe: false,
      }),
    )
    const { url, pub } = await serveOnBroker(broker, {
      redisUrl: inject('redisUrl'),
      prefix,
      cleanup,
    })
    const admin = new Redis(inject('redisUrl'))
    cleanup.push(() => admin.disconnect())
    const news = await recordSse(url, 'news')
    cleanup.push(() => news.close())
    for (let n = 1; n <= 2; n++) await pub.publish('news', 'count', n)
    // What a replica that lagged at 2 holds.
    const replica = await Promise.all(
      (await admin.keys(`${prefix}*`)).map(
        async (key) => [key, await admin.dumpBuffer(key)] as const,
      ),
    )
    let last = ''
    for (let n = 3; n <= 5; n++) last = await pub.publish('news', 'count', n)
    await waitFor(() => news.log.runs[0]?.includes(5), { what: 'events 1-5 live' })
    await admin.del(...(await admin.keys(`${prefix}*`)))
    for (const [key, dump] of replica) if (dump) await admin.restore(key, 0, dump)

    gates.bus = gate()
    const behind = gates.bus
    // Sequences 3 to 7 again: the head passes 5 before the node hears 3.
    for (let n = 6; n <= 10; n++) await pub.publish('news', 'count', n)
    await behind.entered
    behind.open()
    await pub.publish('news', 'end', null)
    await waitFor(() => news.ended, { what: 'the marker' })
    news.close()

    expect({ resets: news.resets, runs: news.log.runs }, news.ids.join(' ')).toEqual({
      resets: 1,
      runs: [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
      ],
    })
    expect(await admin.get(createKeys(prefix).epoch)).not.toBe(parseEventId(last)?.cursor.epoch)
  })
})

describe('issue 18: the events held while an envelope is confirmed', () => {
  // Which bound lets them go first, the count (createEnvelopeConfirm.test.ts
  // proves it alone) or the read's deadline on a machine too slow to publish
  // them in time, is timing; that none is lost or reordered is not.
  it('go out in order, none lost, when more are held than the node keeps while the head read hangs', async () => {
    const prefix = uniquePrefix('heldbound')
    const inner = createRedisBroker({
      redis: inject('redisUrl'),
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: false,
    })
    // The next head read hangs until the test ends (a Redis that stopped answering it).
    let headGate: ReturnType<typeof gate> | undefined
    const broker: Broker = Object.create(inner)
    broker.head = async () => {
      const held = headGate
      if (held) {
        held.enter()
        await held.opened
      }
      return inner.head()
    }
    // The held events go out in one burst: room for them, or the stream is cut as a slow client.
    const lines: string[] = []
    const server = createServer({
      logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }),
      public: true,
      broker,
      limits: { bufferBytes: 8 << 20 },
    })
    cleanup.push(() => server.close())
    const { url } = await server.listen(0, '127.0.0.1')
    await waitFor(() => broker.state === 'ready', { what: 'broker ready' })
    const pub = createPublisher({ redis: inject('redisUrl'), prefix })
    cleanup.push(() => pub.close())
    const news = await recordSse(url, 'news')
    cleanup.push(() => news.close())
    await pub.publish('news', 'count', 1)
    await waitFor(() => news.log.runs[0]?.includes(1), { what: 'event 1 live' })

    // A real event far past the last one heard (channels the node does not
    // hear took the sequences between): it is held while the head is read.
    await Promise.all(Array.from({ length: 1100 }, (_, n) => pub.publish('unheard', 'count', n)))
    const hung = gate()
    cleanup.push(() => hung.open())
    headGate = hung
    await pub.publish('news', 'count', 2)
    await hung.entered
    headGate = undefined
    const HELD = 10_001
    await Promise.all(Array.from({ length: HELD }, (_, n) => pub.publish('news', 'count', n + 3)))
    await pub.publish('news', 'end', null)
    await waitFor(() => news.ended, { what: 'the marker, with the head read still hanging' })
    news.close()

    // Let go by one bound or the other, and said so once.
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg)
    expect(
      messages.filter(
        (msg) =>
          msg.startsWith('too many events held') || msg.startsWith('cannot check an envelope'),
      ),
      messages.join('\n'),
    ).toHaveLength(1)
    expect(news.resets).toBe(0)
    expect(news.log.runs).toEqual([Array.from({ length: HELD + 2 }, (_, n) => n + 1)])
  })
})
