import type { Cluster } from 'ioredis'
import type { Logger } from '../createLogger'
import { type CanaryProbe, createCanaryProbe, type ProbeOptions } from './createCanaryProbe'
import type { DeafLadder } from './createDeafLadder'
import type { SubscriberConn } from './createSubscriberConnections'
import type { PoolPartition } from './PoolPartition'

/** Options of {@link createConnectionProbe}. */
export interface ConnectionProbeOptions {
  settings: ProbeOptions
  /** Sends the probes; its connection to a master that stays silent too is reset. */
  cluster: Cluster
  logger: Logger
  /** Shared by every connection of the pool: a partition's steps outlive its connection. */
  ladder: DeafLadder<PoolPartition>
  /** Drops a connection (its partitions are then placed again). */
  drop(conn: SubscriberConn<PoolPartition>): void
  /** Takes a partition off its connection, to be placed again. */
  lose(part: PoolPartition): void
}

/**
 * The canary probe of one sharded subscriber connection, a token per
 * partition it serves: a connection none of whose tokens come back is
 * dropped; a partition whose token alone stays away climbs the deaf ladder
 * (resubscribed, then its connection replaced, then resubscribed at every
 * round with an error at most once a minute).
 */
export function createConnectionProbe(
  conn: SubscriberConn<PoolPartition>,
  options: ConnectionProbeOptions,
): CanaryProbe {
  const { cluster, logger, ladder } = options
  const { node } = conn
  return createCanaryProbe({
    settings: options.settings,
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
        options.drop(conn)
      }
      for (const { target: part, rounds, step } of rungs) {
        if (step === 'replace') continue
        if (step === 'resubscribe') {
          logger.warn('redis cluster partition hears nothing on a live connection: resubscribing', {
            node,
            partition: part.index,
            reason,
          })
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
        options.lose(part)
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
      options.drop(conn)
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
