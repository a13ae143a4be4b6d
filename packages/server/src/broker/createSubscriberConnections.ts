import type { Cluster } from 'ioredis'
import { Redis } from 'ioredis'
import type { Logger } from '../createLogger'
import type { CanaryProbe } from './createCanaryProbe'
import { withDeadline } from './withDeadline'

/** One sharded subscriber connection to a master, for the partitions placed on it. */
export interface SubscriberConn<P> {
  /** `host:port` of the master. */
  readonly node: string
  readonly redis: Redis
  readonly parts: Set<P>
  probe: CanaryProbe | undefined
  /** A slot moved away from the node: check its partitions. */
  suspect: boolean
  /** Dropped: closed for good, never to be reopened. */
  dead: boolean
}

/** The live subscriber connections of a pool, at most one per master. */
export interface SubscriberConnections<P> {
  /** The live connection to `node`, opened when there is none. */
  at(node: string): SubscriberConn<P>
  /** Whether `conn` is (or within the timeout becomes) ready; one that fails is dropped. */
  connected(conn: SubscriberConn<P>): Promise<boolean>
  /** Closes `conn` for good and tells `onDropped`; again is a no-op. */
  drop(conn: SubscriberConn<P>): void
  /** The live connections as of now. */
  list(): SubscriberConn<P>[]
}

/** Options of {@link createSubscriberConnections}. */
export interface SubscriberConnectionsOptions<P> {
  /** Its slot map names the masters; its connection options (credentials, TLS) are reused. */
  cluster: Cluster
  /** Bound of connecting and of every command, ms. */
  timeout: number
  logger: Logger
  /** The canary probe of a connection just opened (not started), if any. */
  createProbe(conn: SubscriberConn<P>): CanaryProbe | undefined
  /** Every sharded message the connection receives. */
  onMessage(conn: SubscriberConn<P>, channel: string, message: string): void
  /** A MOVED reply or an unsolicited `sunsubscribe`: `conn` was marked suspect. */
  onMoved(conn: SubscriberConn<P>): void
  /** `conn` was dropped; its partitions are still in `conn.parts`. */
  onDropped(conn: SubscriberConn<P>): void
}

/**
 * Opens and drops the pool's sharded subscriber connections. A connection
 * that closes is dropped, never reopened to the same place: its node may be
 * gone for good and its slots elsewhere, which only the placement loop,
 * reading the slot map, can tell.
 */
export function createSubscriberConnections<P>(
  options: SubscriberConnectionsOptions<P>,
): SubscriberConnections<P> {
  const { cluster, timeout, logger } = options
  const conns = new Map<string, SubscriberConn<P>>()

  const drop = (conn: SubscriberConn<P>) => {
    if (conn.dead) return
    conn.dead = true
    conn.probe?.stop()
    if (conns.get(conn.node) === conn) conns.delete(conn.node)
    conn.redis.disconnect()
    options.onDropped(conn)
  }

  const open = (node: string): SubscriberConn<P> => {
    const separator = node.lastIndexOf(':')
    // Credentials and TLS of the cluster's connections; replies in the default shape.
    const { replyMapping: _ignored, ...shared } = cluster.options.redisOptions ?? {}
    const redis = new Redis({
      ...shared,
      host: node.slice(0, separator),
      port: Number(node.slice(separator + 1)),
      lazyConnect: false,
      // A lost connection is never reopened as is: its node may be gone
      // for good, and its slots elsewhere. The loop places its partitions.
      retryStrategy: () => null,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: timeout,
      connectTimeout: timeout,
    })
    const conn: SubscriberConn<P> = {
      node,
      redis,
      parts: new Set(),
      probe: undefined,
      suspect: false,
      dead: false,
    }
    conn.probe = options.createProbe(conn)
    redis.on('smessage', (channel: string, message: string) =>
      options.onMessage(conn, channel, message),
    )
    // ioredis emits it for an unsolicited `sunsubscribe` too (Redis 7 sends
    // one for the channels of a slot that moved away).
    redis.on('moved', () => {
      conn.suspect = true
      options.onMoved(conn)
    })
    redis.on('close', () => drop(conn))
    redis.on('error', (err: Error) =>
      logger.warn('redis cluster subscriber error', { node, err: err.message }),
    )
    conns.set(node, conn)
    return conn
  }

  return {
    at: (node) => conns.get(node) ?? open(node),
    async connected(conn) {
      if (conn.redis.status === 'ready') return true
      try {
        await withDeadline(
          new Promise<void>((resolve, reject) => {
            conn.redis.once('ready', resolve)
            conn.redis.once('end', () => reject(new Error('connection ended')))
          }),
          { what: `connect to ${conn.node}`, ms: timeout },
        )
        return true
      } catch {
        drop(conn)
        return false
      }
    },
    drop,
    list: () => [...conns.values()],
  }
}
