import { isIoredis, isIoredisCluster } from '@redisse/protocol'
import { Cluster, Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createPublisher } from '../src/createPublisher'

// lazyConnect: nothing is dialled, so port 1 (where nothing listens) is safe.
const made: Array<Redis | Cluster> = []
function standalone(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true })
  made.push(redis)
  return redis
}
function cluster(): Cluster {
  const redis = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
  made.push(redis)
  return redis
}

afterEach(() => {
  for (const redis of made.splice(0)) redis.disconnect()
})

describe('the ioredis guards of @redisse/protocol on real ioredis instances', () => {
  it('recognise new Redis() as a standalone client and not as a cluster', () => {
    const redis = standalone()
    expect(isIoredis(redis)).toBe(true)
    expect(isIoredisCluster(redis)).toBe(false)
  })

  it('recognise new Cluster() as a cluster client and not as a standalone one', () => {
    const redis = cluster()
    expect(isIoredisCluster(redis)).toBe(true)
    expect(isIoredis(redis)).toBe(false)
  })

  it('recognise a duplicate() of each the same way', () => {
    const redis = standalone().duplicate()
    const nodes = cluster().duplicate()
    made.push(redis, nodes)
    expect(isIoredis(redis)).toBe(true)
    expect(isIoredisCluster(nodes)).toBe(true)
  })

  it('leave ioredis options and URLs alone', () => {
    expect(isIoredis({ host: '127.0.0.1', port: 1, lazyConnect: true })).toBe(false)
    expect(isIoredis('redis://127.0.0.1:1')).toBe(false)
  })

  it('make createPublisher take a given Cluster as a cluster publisher, without owning it', async () => {
    const given = cluster()
    const pub = createPublisher({ redis: given })
    await pub.close()
    expect(given.status).not.toBe('end')
  })

  it('make createPublisher use a given standalone client without owning it', async () => {
    const redis = standalone()
    const pub = createPublisher({ redis })
    await pub.close()
    expect(redis.status).not.toBe('end')
  })
})
