import { createKeys, partitionOf, partitionPrefix } from '@redisse/protocol'
import {
  CORRUPT_PARTITIONS_RECORDS,
  partitionsRecordRefusalFaults,
  plantPartitionsRecord,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createPublisher } from '../src/index'

// Issue 18: a publisher reads the servers' partition count from one key
// anyone with access to the cluster can write. What a broken or hostile peer
// leaves there must refuse the publish with a code of its own, naming the
// key, never a raw WRONGTYPE ReplyError or "the servers split the log in abc
// partitions"; nothing is written, and once the key is deleted the
// publisher works again.
describe('a corrupt record of the partition count, seen by a cluster publisher (issue 18)', () => {
  let cluster: RedisClusterProcess
  let reader: Cluster

  beforeAll(async () => {
    cluster = await startRedisCluster()
    reader = new Cluster(cluster.urls.slice(0, 1))
    await reader.ping()
  }, 60_000)

  afterAll(async () => {
    reader?.disconnect()
    await cluster?.stop()
  })

  it.each(CORRUPT_PARTITIONS_RECORDS)(
    'refuses publish and publishMany with partitions-record-invalid when it holds %s, and writes nothing',
    async (_what, record) => {
      const prefix = uniquePrefix('pr').replaceAll(/[{}]/g, '')
      const key = createKeys(prefix).partitions
      const channel = 'room:1'
      const kept = await plantPartitionsRecord(reader, key, record)
      const pub = createPublisher({ redis: { cluster: cluster.urls }, prefix })
      onTestFinished(() => pub.close())
      const refusals = [
        await pub.publish(channel, 'm', { n: 1 }).catch((e: unknown) => e),
        await pub.publishMany([{ channel, type: 'm', data: { n: 2 } }]).catch((e: unknown) => e),
      ]
      for (const err of refusals) expect(partitionsRecordRefusalFaults(err, key)).toEqual([])
      const keys = createKeys(partitionPrefix(prefix, partitionOf(channel, 16), 16))
      expect(await reader.exists(keys.seq, keys.history(channel))).toBe(0)
      expect(await kept()).toBe(true)
      // The operator deleted the key: the next publish reads it again and goes through.
      await reader.del(key)
      expect(await pub.publish(channel, 'm', { n: 3 })).toMatch(/^[0-9a-z]+-1@room:1$/)
    },
  )
})
