import type { RedisClusterProcess } from '@redisse/test-utils'
import { Cluster } from 'ioredis'

/**
 * An ioredis Cluster whose every connection to the master on `port` goes
 * through the proxy on `proxyPort` (the broker's subscriber dials the nodes
 * of this client's slot map, so it goes through it too).
 */
export function clusterThroughProxy(
  cluster: RedisClusterProcess,
  port: number,
  proxyPort: number,
): Cluster {
  return new Cluster(
    cluster.urls
      .map((url) => Number(new URL(url).port))
      .filter((p) => p !== port)
      .map((p) => ({ host: '127.0.0.1', port: p })),
    { natMap: { [`127.0.0.1:${port}`]: { host: '127.0.0.1', port: proxyPort } } },
  )
}
