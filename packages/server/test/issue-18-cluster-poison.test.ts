import {
  createKeys,
  DEFAULT_CLUSTER_PARTITIONS as P,
  partitionOf,
  partitionPrefix,
  type RedisKeys,
} from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import {
  openSse,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createServer, type RedisseServer } from '../src/index'
import { POISONS } from './poisons'

// Issue 18, with issue 14 §5 on a cluster: anyone who can SPUBLISH on a
// partition's sharded channel, or write its history, must not kill a node,
// forge an event, or leave a stream silent. Each case ends with a marker
// event published by the SDK after the poison.

let cluster: RedisClusterProcess
/** The raw client of a hostile peer: no SDK, no validation. */
let peer: Cluster
beforeAll(async () => {
  cluster = await startRedisCluster()
  peer = new Cluster(cluster.urls.slice(0, 1))
  await peer.ping()
}, 60_000)
afterAll(async () => {
  peer?.disconnect()
  await cluster?.stop()
})

/** The keys of `channel`'s partition under `prefix`. */
const keysOf = (prefix: string, channel: string): RedisKeys =>
  createKeys(partitionPrefix(prefix, partitionOf(channel, P), P))

async function start(
  prefix: string,
): Promise<{ server: RedisseServer; url: string; pub: Publisher }> {
  const server = createServer({
    logger: 'silent',
    public: true,
    prefix,
    redis: { cluster: cluster.urls.slice(0, 3) },
  })
  const { port } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: { cluster: cluster.urls.slice(0, 3) }, prefix })
  onTestFinished(async () => {
    await pub.close()
    await server.close()
  })
  return { server, url: `http://127.0.0.1:${port}`, pub }
}

const dropped = (server: RedisseServer) => server.stats().dropped.envelopes

/**
 * A hand-made envelope text for `channel` in its partition's epoch, taking
 * the partition's next sequence as the publish script would.
 */
async function forged(prefix: string, channel: string, type: string, data: string) {
  const keys = keysOf(prefix, channel)
  const epoch = (await peer.get(keys.epoch)) ?? 'poison1'
  const seq = await peer.incr(keys.seq)
  return { seq, text: `redisse/1\n${epoch}-${seq}\n${channel}\n${type}\n${Date.now()}\n${data}` }
}

describe('poisoned envelopes on a Redis Cluster bus (issue 18)', () => {
  it.each(POISONS)(
    'drops an envelope SPUBLISHed with %s, counts it, and delivers the next event',
    async (_what, type, data) => {
      const prefix = uniquePrefix('cpoison').replaceAll(/[{}]/g, '')
      const { server, url, pub } = await start(prefix)
      const stream = await openSse(`${url}/?channel=a`)
      onTestFinished(() => stream.close())
      await stream.waitForComment('ok')
      const poison = await forged(prefix, 'a', type, data)
      await peer.spublish(keysOf(prefix, 'a').pubsub('a'), poison.text)
      await waitFor(() => dropped(server) === 1, { what: 'the envelope counted as dropped' })
      await pub.publish('a', 'marker', 2)
      await stream.waitForEvents(1)
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([['marker', '2']])
      expect(stream.isEnded).toBe(false)
    },
  )

  it.each([
    ['text that is no envelope', () => 'not an envelope'],
    ['an empty message', () => ''],
    ['a cursor that is not one', () => 'redisse/1\nnot a cursor\na\nm\n0\n{}'],
    ['an unknown envelope version', () => 'redisse/999\nx-1\na\nm\n0\n{}'],
    ['a megabyte of garbage', () => '\r\n'.repeat(512 * 1024)],
  ])(
    'drops %s on the sharded channel, counts it, and delivers the next event',
    async (_what, text) => {
      const prefix = uniquePrefix('cpoison').replaceAll(/[{}]/g, '')
      const { server, url, pub } = await start(prefix)
      const stream = await openSse(`${url}/?channel=a`)
      onTestFinished(() => stream.close())
      await stream.waitForComment('ok')
      await peer.spublish(keysOf(prefix, 'a').pubsub('a'), text())
      await waitFor(() => dropped(server) === 1, { what: 'the message counted as dropped' })
      await pub.publish('a', 'marker', 3)
      await stream.waitForEvents(1)
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([['marker', '3']])
    },
  )

  it('drops an envelope whose channel is not the one it was SPUBLISHed on', async () => {
    const prefix = uniquePrefix('cpoison').replaceAll(/[{}]/g, '')
    const { server, url, pub } = await start(prefix)
    // `b` of the same partition as `a`, so that its envelope could pass for one of `a`'s.
    const b = Array.from({ length: 200 }, (_, i) => `b:${i}`).find(
      (ch) => partitionOf(ch, P) === partitionOf('a', P),
    ) as string
    const secret = await openSse(`${url}/?channel=${b}`)
    const open = await openSse(`${url}/?channel=a`)
    onTestFinished(() => {
      secret.close()
      open.close()
    })
    await secret.waitForComment('ok')
    await open.waitForComment('ok')
    const poison = await forged(prefix, b, 'm', '"forged"')
    await peer.spublish(keysOf(prefix, 'a').pubsub('a'), poison.text)
    await waitFor(() => dropped(server) === 1, { what: 'the envelope counted as dropped' })
    await pub.publish(b, 'marker', 'b')
    await pub.publish('a', 'marker', 'a')
    await secret.waitForEvents(1)
    await open.waitForEvents(1)
    expect(secret.events.map((e) => [e.event, e.data])).toEqual([['marker', '"b"']])
    expect(open.events.map((e) => [e.event, e.data])).toEqual([['marker', '"a"']])
  })

  // A stream of channel `a` on a server of its own, past its first event.
  const streamPastFirstEvent = async () => {
    const prefix = uniquePrefix('cpoison').replaceAll(/[{}]/g, '')
    const started = await start(prefix)
    const stream = await openSse(`${started.url}/?channel=a`)
    onTestFinished(() => stream.close())
    await stream.waitForComment('ok')
    await started.pub.publish('a', 'm', 'first')
    await stream.waitForEvents(1)
    return { ...started, keys: keysOf(prefix, 'a'), stream }
  }

  // Well-formed, but never written by a publish script. Taken as they came:
  // one far past the partition's head made the real event after it look
  // like a log that went backwards (a new epoch, and a reset for every
  // stream of the partition); one at a sequence the node already heard
  // replaced the partition's epoch (a reset for every stream of every
  // node); one of an epoch the partition is not under reset every stream
  // of the node's partition.
  it.each([
    ['far ahead of the partition’s head', (epoch: string) => `${epoch}-1000000`],
    ['at the sequence its node already heard', (epoch: string, seq: number) => `${epoch}-${seq}`],
    ['of an epoch the partition is not under', () => 'zzzzzz-1'],
  ])(
    'drops one %s and counts it: no reset, no new epoch, the events that follow arrive',
    async (_what, idOf) => {
      const { server, pub, keys, stream } = await streamPastFirstEvent()
      const epoch = (await peer.get(keys.epoch)) ?? ''
      const seq = Number(await peer.get(keys.seq))
      await peer.spublish(
        keys.pubsub('a'),
        `redisse/1\n${idOf(epoch, seq)}\na\nforged\n${Date.now()}\n"x"`,
      )
      await pub.publish('a', 'm', 'next')
      await pub.publish('a', 'marker', 'end')
      await waitFor(() => stream.events.some((e) => e.event === 'marker'), { what: 'the marker' })
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([
        ['m', '"first"'],
        ['m', '"next"'],
        ['marker', '"end"'],
      ])
      expect(dropped(server)).toBe(1)
      expect(await peer.get(keys.epoch)).toBe(epoch)
    },
  )

  it('skips poisoned entries of a partition’s history on resume, counts them, and replays the rest in order', async () => {
    const prefix = uniquePrefix('cpoison').replaceAll(/[{}]/g, '')
    const { server, url, pub } = await start(prefix)
    const keys = keysOf(prefix, 'a')
    const first = await openSse(`${url}/?channel=a`)
    await first.waitForComment('ok')
    await pub.publish('a', 'm', 'first')
    const [seen] = await first.waitForEvents(1)
    first.close()
    for (const [, type, data] of POISONS) {
      const poison = await forged(prefix, 'a', type, data)
      await peer.zadd(keys.history('a'), poison.seq, poison.text)
      await peer.hset(keys.historyMeta('a'), 'last', poison.seq)
    }
    await pub.publish('a', 'm', 'after')
    const before = dropped(server)
    const resume = async () => {
      const stream = await openSse(`${url}/?channel=a`, {
        headers: { 'last-event-id': seen?.id ?? '' },
      })
      onTestFinished(() => stream.close())
      await stream.waitForComment('ok')
      return stream
    }
    const resumed = await resume()
    await pub.publish('a', 'marker', 'live')
    await resumed.waitForEvents(2)
    expect(resumed.events.map((e) => [e.event, e.data])).toEqual([
      ['m', '"after"'],
      ['marker', '"live"'],
    ])
    expect(dropped(server) - before).toBe(POISONS.length)
    // A second resume reads them again, and the node still lives.
    const again = await resume()
    await again.waitForEvents(2)
    expect(again.events.map((e) => e.data)).toEqual(['"after"', '"live"'])
    expect(dropped(server) - before).toBe(2 * POISONS.length)
  })
})
