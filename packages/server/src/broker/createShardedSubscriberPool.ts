import type { Cluster } from 'ioredis'
import type { Logger } from '../createLogger'
import type { BrokerState } from './Broker'
import type { ProbeOptions } from './createCanaryProbe'
import { createConnectionProbe } from './createConnectionProbe'
import { createDeafLadder } from './createDeafLadder'
import { createPlacementLoop, type PlacementLoop } from './createPlacementLoop'
import { createReadiness } from './createReadiness'
import { createSubscriberConnections } from './createSubscriberConnections'
import type { PoolPartition } from './PoolPartition'
import { withDeadline } from './withDeadline'

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
 *
 * The pieces: {@link createPlacementLoop} places, {@link createSubscriberConnections}
 * opens and drops the connections, {@link createConnectionProbe} wires each
 * one's probe to the {@link createDeafLadder}, and {@link createReadiness}
 * holds each partition's state and waiters. This closure ties them together
 * and sorts the messages: probe tokens to the probe, the rest to `onMessage`.
 */
export function createShardedSubscriberPool(
  options: ShardedSubscriberPoolOptions,
): ShardedSubscriberPool {
  const { cluster, timeout, logger } = options
  const probeChannels = new Set(options.partitions.map((p) => p.probeChannel))
  const ladder = createDeafLadder<PoolPartition>()

  const parts: PoolPartition[] = options.partitions.map(({ slot, probeChannel }, index) => ({
    index,
    slot,
    probeChannel,
    channels: new Set(),
    readiness: createReadiness({ timeout, onChange: (state) => options.onState(index, state) }),
    conn: undefined,
  }))

  // The connections and the loop call each other, only ever after both exist.
  const connections = createSubscriberConnections<PoolPartition>({
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
            drop: (dead) => connections.drop(dead),
            lose: (part) => placement.lose(part),
          }),
    onMessage: (conn, channel, message) => {
      if (probeChannels.has(channel)) conn.probe?.heard(message)
      else options.onMessage(channel, message)
    },
    onMoved: () => placement.schedule(),
    onDropped: (conn) => {
      for (const part of [...conn.parts]) placement.lose(part)
    },
  })
  const placement: PlacementLoop = createPlacementLoop({
    cluster,
    parts,
    connections,
    timeout,
    logger,
  })

  placement.schedule()

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
            if (part.conn === conn) placement.lose(part)
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
      placement.close()
      for (const part of parts) part.readiness.set('closed')
      for (const conn of connections.list()) connections.drop(conn)
    },
  }
}
