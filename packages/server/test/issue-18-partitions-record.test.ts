import { createKeys } from '@redisse/protocol'
import {
  CORRUPT_PARTITIONS_RECORDS,
  partitionsRecordRefusalFaults,
  plantPartitionsRecord,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from '../src/index'

// Issue 18: the record of the servers' partition count is one key anyone
// with access to the cluster can write. What a broken or hostile peer leaves
// there must refuse the server with a code of its own and a message naming
// the key, never a raw Redis error, a retry until redisTimeout, or a message
// that repeats the garbage ("split the log in abc partitions").
describe('a corrupt record of the partition count on Redis Cluster (issue 18)', () => {
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
    'refuses to listen with partitions-record-invalid when it holds %s, and leaves it as it was',
    async (_what, record) => {
      const prefix = uniquePrefix('pr').replaceAll(/[{}]/g, '')
      const key = createKeys(prefix).partitions
      const kept = await plantPartitionsRecord(reader, key, record)
      const server = createServer({
        logger: 'silent',
        public: true,
        prefix,
        redis: { cluster: cluster.urls, partitions: 16 },
        // Longer than the test: a refusal that waited for it would fail the test.
        redisTimeout: 60_000,
      })
      try {
        const err = await server.listen(0, '127.0.0.1').catch((e: unknown) => e)
        expect(partitionsRecordRefusalFaults(err, key)).toEqual([])
      } finally {
        await server.close()
      }
      expect(await kept()).toBe(true)
    },
    20_000,
  )
})
