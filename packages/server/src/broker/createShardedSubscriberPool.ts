import type { Cluster } from 'ioredis'
import { Redis } from 'ioredis'
import type { Logger } from '../createLogger'
import type { BrokerState } from './Broker'
import { type CanaryProbe, createCanaryProbe, type ProbeOptions } from './createCanaryProbe'
import { createDeafLadder } from './createDeafLadder'
import { createReadiness, type Readiness } from './createReadiness'
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

interface Part {
  index: number
  slot: number
  probeChannel: string
  /** Channels the broker was asked to subscribe. */
  channels: Set<string>
  readiness: Readiness
  /** The connection its channels are confirmed on; undefined while being placed. */
  conn: Conn | undefined
}

interface Conn {
  /** `host:port` of the master. */
  node: string
  redis: Redis
  parts: Set<Part>
  probe: CanaryProbe | undefined
  /** A slot moved away from the node: check its partitions. */
  suspect: boolean
  dead: boolean
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
  const conns = new Map<string, Conn>()
  const probeOwners = new Map<string, Part>()
  let closed = false
  const ladder = createDeafLadder<Part>()
  let running = false
  let again = false
  let retryTimer: NodeJS.Timeout | undefined
  const rechecks = new Set<NodeJS.Timeout>()

  const parts: Part[] = options.partitions.map(({ slot, probeChannel }, index) => {
    const part: Part = {
      index,
      slot,
      probeChannel,
      channels: new Set(),
      readiness: createReadiness({ timeout, onChange: (state) => options.onState(index, state) }),
      conn: undefined,
    }
    probeOwners.set(probeChannel, part)
    return part
  })

  const lose = (part: Part) => {
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

  const dropConn = (conn: Conn) => {
    if (conn.dead) return
    conn.dead = true
    conn.probe?.stop()
    if (conns.get(conn.node) === conn) conns.delete(conn.node)
    conn.redis.disconnect()
    for (const part of [...conn.parts]) lose(part)
  }

  const open = (node: string): Conn => {
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
    const conn: Conn = {
      node,
      redis,
      parts: new Set(),
      probe: undefined,
      suspect: false,
      dead: false,
    }
    if (options.probe !== false) {
      conn.probe = createCanaryProbe({
        settings: options.probe,
        // Each partition's own: one lost subscription of a connection that
        // lives would leave its partition 'ready' and deaf for good.
        targets: () => [...conn.parts],
        // The probe channel of a partition it serves is in a slot of its node.
        publish: (token, part) => cluster.spublish(part.probeChannel, token),
        onDeaf: (deaf, reason) => {
          // Placed elsewhere since the probe went out: nothing to say about this connection.
          const rungs = ladder.deaf(deaf.filter((part) => part.conn === conn))
          const replace = rungs.filter((rung) => rung.step === 'replace')
          if (replace.length > 0) {
            // Its resubscribe was no cure: what is wrong may be the
            // connection's own state on the node, which only a new one resets.
            logger.warn(
              'redis cluster partition still hears nothing after its resubscribe: replacing its connection',
              { node, partitions: replace.map((rung) => rung.target.index), reason },
            )
            dropConn(conn)
          }
          for (const { target: part, rounds, step } of rungs) {
            if (step === 'replace') continue
            if (step === 'resubscribe') {
              logger.warn(
                'redis cluster partition hears nothing on a live connection: resubscribing',
                { node, partition: part.index, reason },
              )
            } else if (step === 'still-deaf') {
              logger.debug('redis cluster partition still deaf: resubscribing', {
                node,
                partition: part.index,
                deafRounds: rounds,
              })
            } else {
              // A new connection and a fresh slot map did not cure it either:
              // nothing the node can do will, so an operator must look (a
              // proxy, a Redis bug). What it misses still comes from history.
              logger.error(
                'redis cluster partition stays deaf on a new connection and a fresh slot map: resubscribing at every probe, its events come from history only',
                { node, partition: part.index, deafRounds: rounds, reason },
              )
            }
            // Placing it again reads the slot map afresh first (reconcile):
            // a master that no longer serves its slot is left for the one that does.
            lose(part)
          }
        },
        onHeard: (part) => {
          if (part.conn !== conn) return
          const was = ladder.heard(part)
          if (was?.escalated) {
            logger.info('redis cluster partition hears its probe again', {
              node,
              partition: part.index,
              deafRounds: was.rounds,
            })
          }
        },
        onDead: (reason, commandAnswered) => {
          logger.warn('redis cluster subscriber connection is unresponsive: reconnecting', {
            node,
            reason,
          })
          dropConn(conn)
          // Its SPUBLISH unanswered too: the command client's connection to
          // that master is as dead (it was stuck past the probe's timeout
          // anyway), and the cluster client reopens it.
          if (commandAnswered) return
          for (const master of cluster.nodes('master')) {
            if (`${master.options.host}:${master.options.port}` === node) master.disconnect(true)
          }
        },
      })
    }
    redis.on('smessage', (channel: string, message: string) => {
      if (probeOwners.has(channel)) conn.probe?.heard(message)
      else options.onMessage(channel, message)
    })
    redis.on('moved', () => {
      conn.suspect = true
      schedule()
    })
    redis.on('close', () => dropConn(conn))
    redis.on('error', (err: Error) =>
      logger.warn('redis cluster subscriber error', { node, err: err.message }),
    )
    conns.set(node, conn)
    return conn
  }

  const connected = async (conn: Conn): Promise<boolean> => {
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
      dropConn(conn)
      return false
    }
  }

  /**
   * SSUBSCRIBEs every channel of `part` on `conn`, then a PING: the channels
   * confirmed, or undefined when that failed.
   */
  const confirm = async (conn: Conn, part: Part): Promise<Set<string> | undefined> => {
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

  const recheckLater = (conn: Conn) => {
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
    const suspects = [...conns.values()].filter((c) => c.suspect)
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
      const conn = conns.get(node) ?? open(node)
      if (!(await connected(conn))) continue
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
    for (const conn of conns.values()) {
      if (conn.parts.size === 0) dropConn(conn)
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
          (parts.some((p) => !p.conn) || [...conns.values()].some((c) => c.suspect)) &&
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
      for (const conn of [...conns.values()]) dropConn(conn)
    },
  }
}
