import type { Cluster } from 'ioredis'
import type { Logger } from '../createLogger'
import type { BrokerState } from './Broker'
import type { ProbeOptions } from './createCanaryProbe'
import { createConnectionProbe } from './createConnectionProbe'
import { createDeafLadder } from './createDeafLadder'
import { createReadiness } from './createReadiness'
import {
  createSubscriberConnections,
  type SubscriberConn,
  type SubscriberConnections,
} from './createSubscriberConnections'
import type { PoolPartition } from './PoolPartition'
import { withDeadline } from './withDeadline'

/** Delay between two attempts to place partitions that have no subscriber yet, ms. */
const RETRY_DELAY = 200
/** After slots moved off a node, how long until its other partitions are checked again, ms. */
const RECHECK_DELAY = 1000

/** One partition as the pool serves it: sharded subscriptions in one slot. */
export interface ShardedPartition {
  readonly state: BrokerState
  /** SSUBSCRIBEs `channel` (a sharded pub/sub channel in the partition's slot). */
  subscribe(channel: string): Promise<void>
  /** SUNSUBSCRIBEs `channel`. */
  unsubscribe(channel: string): Promise<void>
  /** Resolves once the partition is ready; fails with `broker-unavailable` after `ms`. */
  ready(ms: number): Promise<void>
}

/** The pool of sharded subscriber connections of one broker. */
export interface ShardedSubscriberPool {
  readonly partitions: readonly ShardedPartition[]
  /** Times the probe found a partition deaf on a connection that lives. */
  readonly deafVerdicts: number
  /** Partitions found deaf that have not heard their probe since. */
  readonly deafPartitions: number
  /** Closes every connection and timer of the pool. */
  close(): void
}

/** Options of {@link createShardedSubscriberPool}. */
export interface ShardedSubscriberPoolOptions {
  /** The command client: its slot map says which master serves a slot, and it sends the probes. */
  cluster: Cluster
  /** Per partition, its slot and a channel of that slot for the canary probe. */
  partitions: ReadonlyArray<{ slot: number; probeChannel: string }>
  /** Bound of every command and connection attempt, ms. */
  timeout: number
  probe: ProbeOptions | false
  logger: Logger
  /** Every message of a subscribed channel (probe messages excepted). */
  onMessage(channel: string, message: string): void
  /** A partition's state changed. */
  onState(partition: number, state: BrokerState): void
}

/**
 * Sharded pub/sub over Redis Cluster with at most ONE subscriber connection
 * per master for all partitions whose slot it serves. ioredis' own
 * `shardedSubscribers` loses messages around slot moves without telling, so
 * the pool places partitions itself, from one serial loop:
 * - a partition is `ready` only once every channel asked of it (and its
 *   probe channel) was SSUBSCRIBEd on the connection to the master of its
 *   slot and a PING after them was answered: an SSUBSCRIBE answered by a
 *   node proves that node serves the slot;
 * - a connection that closes (its node died) takes its partitions to
 *   `reconnecting` and is never reopened to the same place blindly: the
 *   loop refreshes the slot map and places them again, retrying until the
 *   new master answers;
 * - an unsolicited `sunsubscribe` (Redis 7 sends it for channels of a slot
 *   that moved away) or a MOVED reply marks the connection suspect: each of
 *   its partitions is moved, or SSUBSCRIBEd again to prove it stays, and
 *   only those that fail go `reconnecting`;
 * - the canary probe sends a token to the probe channel of every partition
 *   a connection serves: a partition whose token alone stays away lost its
 *   subscription on a live connection and is placed again by itself; a
 *   connection none of whose tokens come back is dropped;
 * - a partition found deaf again before it heard its token escalates, one
 *   step per probe round: its whole connection is replaced, then (on the
 *   fresh connection too) it is placed again at every round, on a slot map
 *   read afresh, with an error logged at most once a minute; it stays
 *   counted in `deafPartitions` until it hears its token again.
 */
export function createShardedSubscriberPool(
  options: ShardedSubscriberPoolOptions,
): ShardedSubscriberPool {
  const { cluster, timeout, logger } = options
  const probeChannels = new Set(options.partitions.map((p) => p.probeChannel))
  let closed = false
  const ladder = createDeafLadder<PoolPartition>()
  let running = false
  let again = false
  let retryTimer: NodeJS.Timeout | undefined
  const rechecks = new Set<NodeJS.Timeout>()

  const parts: PoolPartition[] = options.partitions.map(({ slot, probeChannel }, index) => ({
    index,
    slot,
    probeChannel,
    channels: new Set(),
    readiness: createReadiness({ timeout, onChange: (state) => options.onState(index, state) }),
    conn: undefined,
  }))

  const connections: SubscriberConnections<PoolPartition> = createSubscriberConnections({
    cluster,
    timeout,
    logger,
    createProbe: (conn) =>
      options.probe === false
        ? undefined
        : createConnectionProbe(conn, {
            settings: options.probe,
            cluster,
            logger,
            ladder,
            drop: connections.drop,
            lose,
          }),
    onMessage: (conn, channel, message) => {
      if (probeChannels.has(channel)) conn.probe?.heard(message)
      else options.onMessage(channel, message)
    },
    onMoved: () => schedule(),
    onDropped: (conn) => {
      for (const part of [...conn.parts]) lose(part)
    },
  })

  function lose(part: PoolPartition) {
    const conn = part.conn
    conn?.parts.delete(part)
    part.conn = undefined
    if (conn && !conn.dead) {
      // A probe in flight may have gone to this partition's slot, which the
      // node may no longer serve: it would never come back and condemn the
      // connection of the partitions that stay. Start it over.
      conn.probe?.pause()
      if (conn.parts.size > 0) conn.probe?.resume()
    }
    if (part.readiness.state === 'ready') part.readiness.set('reconnecting')
    schedule()
  }

  const masterOf = (slot: number): string | undefined => cluster.slots[slot]?.[0]

  const refreshSlots = () =>
    withDeadline(
      new Promise<void>((resolve, reject) =>
        cluster.refreshSlotsCache((err) => (err ? reject(err) : resolve())),
      ),
      { what: 'refresh the cluster slot map', ms: timeout },
    )

  /**
   * SSUBSCRIBEs every channel of `part` on `conn`, then a PING: the channels
   * confirmed, or undefined when that failed.
   */
  const confirm = async (
    conn: SubscriberConn<PoolPartition>,
    part: PoolPartition,
  ): Promise<Set<string> | undefined> => {
    const done = new Set<string>()
    try {
      for (;;) {
        const missing = [part.probeChannel, ...part.channels].filter((c) => !done.has(c))
        if (missing.length > 0) {
          await withDeadline(conn.redis.ssubscribe(...missing), {
            what: `subscribe to ${missing.length} channel(s) of partition ${part.index}`,
            ms: timeout,
          })
          for (const channel of missing) done.add(channel)
          continue
        }
        await withDeadline(conn.redis.ping(), { what: `ping ${conn.node}`, ms: timeout })
        // A channel asked for during the PING is subscribed before the partition says ready.
        if ([...part.channels].every((c) => done.has(c))) break
      }
      return conn.dead ? undefined : done
    } catch (err) {
      logger.warn('redis cluster partition not subscribed yet: retrying', {
        partition: part.index,
        node: conn.node,
        err: String(err),
      })
      return undefined
    }
  }

  const recheckLater = (conn: SubscriberConn<PoolPartition>) => {
    const timer = setTimeout(() => {
      rechecks.delete(timer)
      if (conn.dead || closed) return
      conn.suspect = true
      schedule()
    }, RECHECK_DELAY)
    timer.unref()
    rechecks.add(timer)
  }

  const reconcile = async () => {
    const suspects = connections.list().filter((c) => c.suspect)
    if (suspects.length > 0 || parts.some((p) => !p.conn)) await refreshSlots()
    for (const conn of suspects) {
      conn.suspect = false
      let moved = false
      for (const part of [...conn.parts]) {
        if (masterOf(part.slot) !== conn.node || !(await confirm(conn, part))) {
          lose(part)
          moved = true
        }
        // (A channel asked for meanwhile was sent by subscribe() on this connection.)
      }
      // Slots moved off this node: the map read now may not show all of
      // them yet (a failover reaches the nodes' maps one by one), and a
      // partition still believed here would stay 'ready' and hear nothing.
      // Its partitions are checked once more when the map has settled.
      if (moved && !conn.dead && conn.parts.size > 0) recheckLater(conn)
    }
    for (const part of parts) {
      if (part.conn || closed) continue
      const node = masterOf(part.slot)
      if (node === undefined) continue
      const conn = connections.at(node)
      if (!(await connections.connected(conn))) continue
      const done = await confirm(conn, part)
      if (!done || part.conn) continue
      // Asked for after the last check of confirm(): placed again right away.
      if (![...part.channels].every((c) => done.has(c))) {
        again = true
        continue
      }
      part.conn = conn
      conn.parts.add(part)
      conn.probe?.resume()
      part.readiness.set('ready')
    }
    for (const conn of connections.list()) {
      if (conn.parts.size === 0) connections.drop(conn)
    }
  }

  function schedule() {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = true
    again = false
    reconcile()
      .catch((err: unknown) =>
        logger.warn('redis cluster subscriber placement failed: retrying', { err: String(err) }),
      )
      .finally(() => {
        running = false
        if (closed) return
        if (again) schedule()
        else if (
          (parts.some((p) => !p.conn) || connections.list().some((c) => c.suspect)) &&
          !retryTimer
        ) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined
            schedule()
          }, RETRY_DELAY)
          retryTimer.unref()
        }
      })
  }

  schedule()

  return {
    partitions: parts.map((part) => ({
      get state() {
        return part.readiness.state
      },
      ready: (ms) => part.readiness.wait(`subscribe to partition ${part.index}`, ms),
      async subscribe(channel) {
        part.channels.add(channel)
        const conn = part.conn
        if (conn && part.readiness.state === 'ready') {
          try {
            await withDeadline(conn.redis.ssubscribe(channel), {
              what: `subscribe to ${channel}`,
              ms: timeout,
            })
            return
          } catch {
            // Its slot moved or its node is gone: placed again with the rest.
            if (part.conn === conn) lose(part)
          }
        }
        await part.readiness.wait(`subscribe to ${channel}`)
      },
      async unsubscribe(channel) {
        part.channels.delete(channel)
        const conn = part.conn
        if (!conn) return
        await withDeadline(conn.redis.sunsubscribe(channel), {
          what: `unsubscribe from ${channel}`,
          ms: timeout,
        })
      },
    })),
    get deafVerdicts() {
      return ladder.verdicts
    },
    get deafPartitions() {
      return ladder.deafTargets
    },
    close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      for (const timer of rechecks) clearTimeout(timer)
      rechecks.clear()
      for (const part of parts) part.readiness.set('closed')
      for (const conn of connections.list()) connections.drop(conn)
    },
  }
}
