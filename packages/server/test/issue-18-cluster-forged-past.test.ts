import {
  createKeys,
  DEFAULT_CLUSTER_PARTITIONS as P,
  partitionOf,
  partitionPrefix,
  type RedisKeys,
} from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import {
  openSse,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createServer } from '../src/index'

// Issue 18 on a cluster: each partition has its own log, epoch and guard. A
// well-formed envelope SPUBLISHed by hand on a partition's sharded channel,
// at a sequence its node already heard or of an epoch the partition is not
// under, must not replace the partition's epoch or reset its streams.

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

/** A node with a stream of `a` that heard its first event. */
async function streamPastFirstEvent() {
  const prefix = uniquePrefix('cforged').replaceAll(/[{}]/g, '')
  const redis = { cluster: cluster.urls.slice(0, 3) }
  const server = createServer({ logger: 'silent', public: true, prefix, redis })
  const { port } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis, prefix })
  onTestFinished(async () => {
    await pub.close()
    await server.close()
  })
  const stream = await openSse(`http://127.0.0.1:${port}/?channel=a`)
  onTestFinished(() => stream.close())
  await stream.waitForComment('ok')
  await pub.publish('a', 'm', 'first')
  await stream.waitForEvents(1)
  const keys = keysOf(prefix, 'a')
  const epoch = (await peer.get(keys.epoch)) ?? ''
  const seq = Number(await peer.get(keys.seq))
  return { server, pub, keys, stream, epoch, seq }
}

describe('issue 18: forged envelopes on a partition of a Redis Cluster bus', () => {
  it.each([
    ['at the sequence its node already heard', (epoch: string, seq: number) => `${epoch}-${seq}`],
    ['of an epoch the partition is not under', () => 'zzzzzz-1'],
  ])(
    'drops one %s and counts it: no reset, no new epoch, the events that follow arrive',
    async (_what, idOf) => {
      const { server, pub, keys, stream, epoch, seq } = await streamPastFirstEvent()
      const before = server.stats().dropped.envelopes
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
      expect(server.stats().dropped.envelopes - before).toBe(1)
      expect(await peer.get(keys.epoch)).toBe(epoch)
    },
  )
})
