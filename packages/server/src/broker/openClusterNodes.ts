import { RedisseError } from '@redisse/protocol'
import { Cluster } from 'ioredis'

const invalidNodes = () =>
  new RedisseError(
    'invalid-option',
    'redis.cluster must be a non-empty list of redis:// or rediss:// URLs of cluster nodes (or an ioredis Cluster)',
  )

/**
 * The broker's command client on Redis Cluster, from URLs of some nodes:
 * credentials and TLS of the URLs apply to every node (those found through
 * the slot map get only shared options). Follows MOVED/ASK; commands in
 * flight on a connection that drops fail rather than run twice.
 */
export function openClusterNodes(urls: readonly string[], commandTimeout: number): Cluster {
  if (!Array.isArray(urls) || urls.length === 0) throw invalidNodes()
  const shared: { username?: string; password?: string; tls?: Record<string, never> } = {}
  const startup = urls.map((url) => {
    const parsed = URL.canParse(url) ? new URL(url) : undefined
    if (!parsed || !/^rediss?:$/.test(parsed.protocol) || !parsed.hostname) throw invalidNodes()
    if (parsed.username) shared.username = decodeURIComponent(parsed.username)
    if (parsed.password) shared.password = decodeURIComponent(parsed.password)
    if (parsed.protocol === 'rediss:') shared.tls = {}
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }
  })
  return new Cluster(startup, {
    lazyConnect: false,
    enableOfflineQueue: true,
    redisOptions: {
      ...shared,
      commandTimeout,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
    },
  })
}
