import { DEFAULT_CLUSTER_PARTITIONS, isClusterOption } from '@redisse/protocol'
import type { RedisClusterOptions } from '@redisse/publisher'
import type { Cluster } from 'ioredis'
import type { ServerOptions } from './options'

/**
 * Where a `redis` option points, for log lines: the URL with its password
 * replaced by `***`, `host:port` of ioredis options, or the Sentinel set.
 */
export function describeRedis(redis: ServerOptions['redis']): string {
  if (redis === undefined) return 'embedded broker'
  if (typeof redis === 'string') {
    try {
      const url = new URL(redis)
      if (url.password) url.password = '***'
      return url.href
    } catch {
      // Never echo an unparsable URL: it may hold a secret in a place URL cannot find.
      return '(unparsable URL)'
    }
  }
  if (isClusterOption<RedisClusterOptions | Cluster>(redis)) {
    const options = redis as { cluster?: unknown; partitions?: number }
    if (!Array.isArray(options.cluster)) return 'the given ioredis Cluster'
    const nodes = options.cluster.map((url) => describeRedis(String(url)))
    return `cluster ${nodes.join(',')} (${options.partitions ?? DEFAULT_CLUSTER_PARTITIONS} partitions)`
  }
  if ('options' in redis && typeof redis.options === 'object') return 'the given ioredis instance'
  const options = redis as {
    host?: string
    port?: number
    sentinels?: { host?: string; port?: number }[]
    name?: string
  }
  if (options.sentinels) {
    const set = options.sentinels.map((s) => `${s.host ?? '127.0.0.1'}:${s.port ?? 26379}`)
    return `sentinels ${set.join(',')} (master ${options.name ?? 'mymaster'})`
  }
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`
}
