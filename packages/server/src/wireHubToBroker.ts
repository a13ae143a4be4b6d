import type { Broker, BrokerState } from './broker/Broker'
import type { Hub } from './createHub'
import type { Logger } from './createLogger'

/**
 * Makes a hub follow the state of the log it serves: a lost bus holds its
 * streams, its return resubscribes every channel, then recovers what was
 * missed from history. On a partitioned log each partition's hub follows
 * its own partition, so an outage of one cluster node recovers only the
 * partitions it served.
 */
export function wireHubToBroker(options: {
  hub: Hub
  broker: Broker
  logger: Logger
  /** Every loss of the bus, for the node's counters. */
  onLost: () => void
  /** Every change of state, for the logs. */
  onChange: (state: BrokerState) => void
}): void {
  const { hub, broker, logger } = options
  let previousState = broker.state
  broker.onState((state) => {
    if (state === 'reconnecting') {
      options.onLost()
      hub.busLost()
    }
    // Every channel is heard again before history is read for what was missed.
    if (state === 'ready' && previousState === 'reconnecting') {
      // Runs outside any request: a rejection left unhandled would end the process.
      void hub
        .resubscribe()
        .then(() => hub.recover())
        .catch((err: unknown) => {
          try {
            logger.error('cannot recover after a reconnect', { err: String(err) })
          } catch {}
        })
    }
    previousState = state
    options.onChange(state)
  })
  void broker
    .ready()
    .then(() => broker.head())
    .then(
      (head) => hub.markSeen(head.seq),
      () => {},
    )
}
