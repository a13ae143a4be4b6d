import { isIoredisCluster } from '@redisse/protocol'
import type { RedisClusterOptions } from '@redisse/publisher'
import type { Cluster } from 'ioredis'

/**
 * True for `{ cluster }` options or an ioredis `Cluster`: the server then
 * runs on Redis Cluster. An ioredis `Redis` instance has a `cluster()`
 * method (the CLUSTER command): it is not one.
 */
export function isClusterOption(value: unknown): value is RedisClusterOptions | Cluster {
  if (isIoredisCluster<Cluster>(value)) return true
  return (
    typeof value === 'object' &&
    value !== null &&
    'cluster' in value &&
    typeof (value as { defineCommand?: unknown }).defineCommand !== 'function'
  )
}
