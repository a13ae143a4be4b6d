import type { Cluster } from 'ioredis'
import type { Logger } from '../createLogger'
import { confirmPartition } from './confirmPartition'
import { createSerialRunner } from './createSerialRunner'
import type { SubscriberConn, SubscriberConnections } from './createSubscriberConnections'
import type { PoolPartition } from './PoolPartition'
import { withDeadline } from './withDeadline'

/** Delay between two attempts to place partitions that have no subscriber yet, ms. */
const RETRY_DELAY = 200
/** After slots moved off a node, how long until its other partitions are checked again, ms. */
const RECHECK_DELAY = 1000

/** Places the pool's partitions on the connection of the master of their slot. */
export interface PlacementLoop {
  /** Reconciles placements now, or right after the pass in progress. */
  schedule(): void
  /** Takes `part` off its connection (`reconnecting` if it was ready) and places it again. */
  lose(part: PoolPartition): void
  /** Stops every pass, retry and recheck. */
  close(): void
}

/** Options of {@link createPlacementLoop}. */
export interface PlacementLoopOptions {
  /** Its slot map says which master serves a slot. */
  cluster: Cluster
  parts: readonly PoolPartition[]
  connections: SubscriberConnections<PoolPartition>
  /** Bound of the slot map refresh and of each command, ms. */
  timeout: number
  logger: Logger
}

/**
 * One serial loop that places every partition without a connection, after
 * a fresh read of the slot map, on the connection to the master of its
 * slot; checks each partition of a suspect connection (moved away, or
 * SSUBSCRIBEd again to prove it stays); drops connections left empty; and
 * retries until nothing is left to place.
 */
export function createPlacementLoop(options: PlacementLoopOptions): PlacementLoop {
  const { cluster, parts, connections, timeout, logger } = options
  const rechecks = new Set<NodeJS.Timeout>()

  const masterOf = (slot: number): string | undefined => cluster.slots[slot]?.[0]
  const confirm = (conn: SubscriberConn<PoolPartition>, part: PoolPartition) =>
    confirmPartition(conn, part, { timeout, logger })

  const refreshSlots = () =>
    withDeadline(
      new Promise<void>((resolve, reject) =>
        cluster.refreshSlotsCache((err) => (err ? reject(err) : resolve())),
      ),
      { what: 'refresh the cluster slot map', ms: timeout },
    )

  const lose = (part: PoolPartition) => {
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
    runner.schedule()
  }

  const recheckLater = (conn: SubscriberConn<PoolPartition>) => {
    const timer = setTimeout(() => {
      rechecks.delete(timer)
      if (conn.dead || runner.closed) return
      conn.suspect = true
      runner.schedule()
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
      if (part.conn || runner.closed) continue
      const node = masterOf(part.slot)
      if (node === undefined) continue
      const conn = connections.at(node)
      if (!(await connections.connected(conn))) continue
      const done = await confirm(conn, part)
      if (!done || part.conn) continue
      // Asked for after the last check of confirm(): placed again right
      // after this pass (a schedule() during a pass folds into one more).
      if (![...part.channels].every((c) => done.has(c))) {
        runner.schedule()
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

  const runner = createSerialRunner({
    run: reconcile,
    onError: (err) =>
      logger.warn('redis cluster subscriber placement failed: retrying', { err: String(err) }),
    retryWhile: () => parts.some((p) => !p.conn) || connections.list().some((c) => c.suspect),
    retryDelay: RETRY_DELAY,
  })

  return {
    schedule: runner.schedule,
    lose,
    close() {
      runner.close()
      for (const timer of rechecks) clearTimeout(timer)
      rechecks.clear()
    },
  }
}
