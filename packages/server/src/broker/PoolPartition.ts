import type { Readiness } from './createReadiness'
import type { SubscriberConn } from './createSubscriberConnections'

/** One partition as the sharded subscriber pool keeps it: sharded subscriptions in one slot. */
export interface PoolPartition {
  readonly index: number
  readonly slot: number
  /** A channel of its slot that only the canary probe publishes to. */
  readonly probeChannel: string
  /** Channels the broker was asked to subscribe. */
  readonly channels: Set<string>
  readonly readiness: Readiness
  /** The connection its channels are confirmed on; undefined while being placed. */
  conn: SubscriberConn<PoolPartition> | undefined
}
