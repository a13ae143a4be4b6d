import {
  DEFAULT_CLUSTER_PARTITIONS,
  isClusterOption as isClusterShape,
  isIoredisCluster,
  RedisseError,
  validatePartitions,
} from '@redisse/protocol'
import { Cluster, type ClusterOptions } from 'ioredis'

/**
 * The `redis` option of a publisher on Redis Cluster (or Valkey Cluster):
 * the cluster's nodes, how many partitions the log is split in, and any
 * ioredis `ClusterOptions`.
 */
export interface RedisClusterOptions extends ClusterOptions {
  /**
   * Some of the cluster's nodes as `redis://` (or TLS `rediss://`) URLs, e.g.
   * `['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']`: the publisher
   * discovers the others and opens and closes its own connections. A
   * username and password in a URL apply to every node. Or an ioredis
   * `Cluster` instance, used as is and never closed by the publisher (then
   * the other ioredis options here are not read).
   */
  cluster: readonly string[] | Cluster
  /**
   * Partitions of the log: channels are spread over them by FNV-1a of
   * their name. Must be the servers' value (their `redis.partitions`),
   * which every publish checks (`partitions-mismatch`).
   * @defaultValue 16
   */
  partitions?: number | undefined
}

/** An open cluster client and what the publisher needs to know about it. */
export interface OpenedCluster {
  cluster: Cluster
  /** True when the publisher created the client (and so closes it). */
  owned: boolean
  partitions: number
}

/** True for `{ cluster }` options or a `Cluster` instance: the publisher then runs on Redis Cluster. */
export const isClusterOption = (value: unknown): value is RedisClusterOptions | Cluster =>
  isClusterShape<RedisClusterOptions | Cluster>(value)

const invalidNodes = () =>
  new RedisseError(
    'invalid-option',
    'redis.cluster must be a non-empty list of redis:// or rediss:// URLs of cluster nodes, or an ioredis Cluster instance',
  )

/** Startup nodes and the connection options the URLs carry (credentials, TLS). */
function parseNodes(urls: readonly unknown[]): {
  nodes: Array<{ host: string; port: number }>
  connection: { username?: string; password?: string; tls?: Record<string, never> }
} {
  if (urls.length === 0) throw invalidNodes()
  const nodes: Array<{ host: string; port: number }> = []
  const connection: { username?: string; password?: string; tls?: Record<string, never> } = {}
  for (const url of urls) {
    if (typeof url !== 'string') throw invalidNodes()
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw invalidNodes()
    }
    if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.hostname) {
      throw invalidNodes()
    }
    nodes.push({
      host: parsed.hostname.replace(/^\[|\]$/g, ''),
      port: parsed.port ? Number(parsed.port) : 6379,
    })
    // Nodes found through CLUSTER SLOTS get only the shared options, so the
    // credentials of the URLs must be shared ones.
    if (parsed.username) connection.username = decodeURIComponent(parsed.username)
    if (parsed.password) connection.password = decodeURIComponent(parsed.password)
    if (parsed.protocol === 'rediss:') connection.tls = {}
  }
  return { nodes, connection }
}

function refuseKeyPrefix(keyPrefix: unknown): void {
  if (keyPrefix) {
    throw new RedisseError(
      'invalid-option',
      `redis has keyPrefix "${String(keyPrefix)}", which would not apply to pub/sub channels: drop keyPrefix and set the prefix option instead`,
    )
  }
}

/**
 * Reads the cluster form of the `redis` option and opens the client (lazily:
 * nothing connects before the first command).
 * @throws RedisseError `invalid-option` for bad URLs, a `keyPrefix` or a
 *   partition count outside 1..16
 */
export function openCluster(given: RedisClusterOptions | Cluster): OpenedCluster {
  if (isIoredisCluster<Cluster>(given)) {
    refuseKeyPrefix(given.options.keyPrefix ?? given.options.redisOptions?.keyPrefix)
    return { cluster: given, owned: false, partitions: DEFAULT_CLUSTER_PARTITIONS }
  }
  const { cluster: nodes, partitions: rawPartitions, ...clusterOptions } = given
  const partitions =
    rawPartitions === undefined
      ? DEFAULT_CLUSTER_PARTITIONS
      : validatePartitions(rawPartitions, 'redis.partitions')
  if (isIoredisCluster<Cluster>(nodes)) {
    refuseKeyPrefix(nodes.options.keyPrefix ?? nodes.options.redisOptions?.keyPrefix)
    return { cluster: nodes, owned: false, partitions }
  }
  if (!Array.isArray(nodes)) throw invalidNodes()
  refuseKeyPrefix(clusterOptions.keyPrefix ?? clusterOptions.redisOptions?.keyPrefix)
  const { nodes: startup, connection } = parseNodes(nodes)
  // Replies are read in ioredis' default (legacy) shape.
  const { replyMapping: _ignored, ...redisOptions } = (clusterOptions.redisOptions ??
    {}) as NonNullable<ClusterOptions['redisOptions']> & { replyMapping?: unknown }
  const cluster: Cluster = new Cluster(startup, {
    // Nothing connects before the first operation (the gate calls connect()).
    lazyConnect: true,
    ...clusterOptions,
    // The publisher's gate is the only queue: bounded, with a deadline per publish.
    enableOfflineQueue: false,
    redisOptions: {
      ...connection,
      ...redisOptions,
      // A command in flight when a node's connection drops is failed, not
      // sent again on reconnect (the cluster client may still retry it on
      // the node that took the slot over: see the README on failovers).
      autoResendUnfulfilledCommands: false,
    },
  })
  return { cluster, owned: true, partitions }
}
