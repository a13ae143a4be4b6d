import {
  createKeys,
  type Envelope,
  isRedisseError,
  partitionOf,
  partitionPrefix,
} from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import {
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Broker } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger } from '../src/createLogger'
import { createServer } from '../src/index'

const logger = createLogger({ level: 'silent' })

// Servers and publishers must split the log alike, or events go to keys no server reads.
describe('one partition count per deployment on Redis Cluster (issue 18)', () => {
  let cluster: RedisClusterProcess
  let reader: Cluster
  let broker: Broker
  const received: Envelope[] = []
  const prefix = uniquePrefix('pc').replaceAll(/[{}]/g, '')
  const channel = 'room:1'

  beforeAll(async () => {
    cluster = await startRedisCluster()
    reader = new Cluster(cluster.urls.slice(0, 1))
    broker = createClusterBroker({ cluster: cluster.urls, partitions: 16, prefix, logger })
    broker.onEnvelope((envelope) => received.push(envelope))
    await broker.ready()
    await broker.configureHistory({ size: 100, ttl: 60_000, rules: [] })
    await broker.partitions?.[partitionOf(channel, 16)]?.subscribe(channel)
  }, 60_000)

  afterAll(async () => {
    await broker?.close()
    reader?.disconnect()
    await cluster?.stop()
  })

  it('refuses a publisher with another count with partitions-mismatch, and it publishes nothing', async () => {
    const pub8 = createPublisher({ redis: { cluster: cluster.urls, partitions: 8 }, prefix })
    const err = await pub8.publish(channel, 'e', { n: 1 }).catch((e: unknown) => e)
    await pub8.close()
    expect(isRedisseError(err, 'partitions-mismatch')).toBe(true)
    expect((err as Error).message).toContain('set the publisher option redis.partitions to 16')
    const keys8 = createKeys(partitionPrefix(prefix, partitionOf(channel, 8), 8))
    expect(await reader.exists(keys8.seq, keys8.history(channel))).toBe(0)
    // The marker of a publisher with the servers' count arrives alone.
    const marker = await broker.publish({ channel, type: 'marker', data: 1 })
    await waitFor(() => received.some((e) => e.type === 'marker'), { what: 'the marker' })
    expect(received.map((e) => `${e.id}@${e.channel}`)).toEqual([marker])
  })

  it('publishes with the servers’ count', async () => {
    const pub16 = createPublisher({ redis: { cluster: cluster.urls, partitions: 16 }, prefix })
    const id = await pub16.publish(channel, 'e', { n: 2 })
    await pub16.close()
    await waitFor(() => received.some((e) => `${e.id}@${e.channel}` === id), { what: id })
  })

  it('refuses a server broker with another count: ready() rejects with invalid-option', async () => {
    const other = createClusterBroker({ cluster: cluster.urls, partitions: 8, prefix, logger })
    try {
      const err = await other.ready().catch((e: unknown) => e)
      expect(isRedisseError(err, 'invalid-option')).toBe(true)
      expect((err as Error).message).toContain('redis.partitions')
      expect((err as Error).message).toContain('16')
    } finally {
      await other.close()
    }
    // Through the server, at once rather than after redisTimeout.
    const server = createServer({
      logger: 'silent',
      public: true,
      prefix,
      redis: { cluster: cluster.urls, partitions: 8 },
      redisTimeout: 20_000,
    })
    const started = Date.now()
    const refused = await server.listen(0, '127.0.0.1').catch((e: unknown) => e)
    await server.close()
    expect(isRedisseError(refused, 'invalid-option')).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
    // The servers' record is unchanged.
    expect(await reader.get(createKeys(prefix).partitions)).toBe('16')
  })
})
