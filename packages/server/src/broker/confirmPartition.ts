import type { Logger } from '../createLogger'
import type { SubscriberConn } from './createSubscriberConnections'
import type { PoolPartition } from './PoolPartition'
import { withDeadline } from './withDeadline'

/**
 * SSUBSCRIBEs every channel of `part` (its probe channel first) on `conn`,
 * then a PING: the channels confirmed, or undefined when that failed or the
 * connection was dropped meanwhile. An SSUBSCRIBE answered by a node proves
 * that node serves the slot, and the PING that the subscriptions took.
 * @param options - `timeout` bounds each command, ms
 */
export async function confirmPartition(
  conn: SubscriberConn<PoolPartition>,
  part: PoolPartition,
  options: { timeout: number; logger: Logger },
): Promise<Set<string> | undefined> {
  const { timeout } = options
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
    options.logger.warn('redis cluster partition not subscribed yet: retrying', {
      partition: part.index,
      node: conn.node,
      err: String(err),
    })
    return undefined
  }
}
