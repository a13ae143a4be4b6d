import type { Broker } from './broker/Broker'
import type { Connection } from './Connection'
import type { Logger } from './createLogger'

/** The channels a node listens to on the bus, and the local connections of each. */
export interface BusSubscriptions {
  /** Local connections per channel; a channel is here while it has any. */
  readonly byChannel: ReadonlyMap<string, ReadonlySet<Connection>>
  /** Adds a channel to a connection; resolves once the channel is live on the bus. */
  join(connection: Connection, channel: string): Promise<void>
  /** Removes a channel from a connection. */
  leave(connection: Connection, channel: string): void
  /** Sends SUBSCRIBE again for every channel with local listeners (after a reconnect). */
  resubscribe(): Promise<void>
}

/**
 * The listeners of a channel heard by one connection only (every personal
 * channel): a one-member Set would cost each such stream about 130 B more.
 * A second listener turns it into a Set.
 */
class SoleListener implements ReadonlySet<Connection> {
  constructor(readonly only: Connection) {}
  get size(): number {
    return 1
  }
  has(connection: Connection): boolean {
    return connection === this.only
  }
  forEach(
    callback: (value: Connection, key: Connection, set: ReadonlySet<Connection>) => void,
    thisArg?: unknown,
  ): void {
    callback.call(thisArg, this.only, this.only, this)
  }
  entries(): SetIterator<[Connection, Connection]> {
    return [[this.only, this.only] as [Connection, Connection]].values() as unknown as SetIterator<
      [Connection, Connection]
    >
  }
  keys(): SetIterator<Connection> {
    return this.values()
  }
  values(): SetIterator<Connection> {
    return [this.only].values() as unknown as SetIterator<Connection>
  }
  [Symbol.iterator](): SetIterator<Connection> {
    return this.values()
  }
}

/**
 * Keeps one bus subscription per channel however many connections hear it:
 * subscribe on the first, unsubscribe after the last.
 */
export function createBusSubscriptions(options: {
  broker: Broker
  logger: Logger
  /** Writes the events queued for delivery now (before a connection hears a new channel). */
  flush: () => void
}): BusSubscriptions {
  const { broker, logger } = options
  const byChannel = new Map<string, Set<Connection> | SoleListener>()
  // Bus operations of one channel run in order, so a quick
  // unsubscribe/subscribe pair can never end unsubscribed.
  const busQueue = new Map<string, Promise<void>>()

  // `resubscribe` repeats a SUBSCRIBE after a reconnect, for a channel still listened to when its turn comes.
  const onBus = (
    channel: string,
    op: 'subscribe' | 'unsubscribe' | 'resubscribe',
  ): Promise<void> => {
    const previous = busQueue.get(channel) ?? Promise.resolve()
    const next = previous
      .then(() => {
        if (op === 'unsubscribe') return broker.unsubscribe(channel)
        if (op === 'subscribe' || byChannel.has(channel)) return broker.subscribe(channel)
      })
      .catch((err: unknown) => {
        logger.error(`cannot ${op} channel`, { channel, err: String(err) })
        if (op === 'unsubscribe') return
        // Nobody may stay on a channel the node does not hear: the streams
        // waiting for it end, and their clients reconnect and resume
        // (unless a later SUBSCRIBE of the channel now decides for them).
        // After a reconnect, a channel not heard again is one whose streams
        // would stay silent: they end too (unless the bus is already lost
        // again, and the next reconnect subscribes once more).
        const deaf =
          op === 'subscribe' ? subscribing.get(channel) === next : broker.state === 'ready'
        if (deaf) {
          for (const connection of [...(byChannel.get(channel) ?? [])]) {
            connection.close('broker-unavailable')
          }
        }
        if (op === 'subscribe') throw err
      })
    const tail = next.catch(() => {})
    busQueue.set(channel, tail)
    void tail.then(() => {
      if (busQueue.get(channel) === tail) busQueue.delete(channel)
    })
    return next
  }

  // A channel's SUBSCRIBE while in flight: whoever joins meanwhile shares its outcome.
  const subscribing = new Map<string, Promise<void>>()
  const pendingFor = (channel: string): Promise<void> =>
    subscribing.get(channel) ?? busQueue.get(channel) ?? Promise.resolve()

  const join = (connection: Connection, channel: string): Promise<void> => {
    if (connection.channels.has(channel)) return pendingFor(channel)
    // Events that arrived before this subscription are not its to hear.
    options.flush()
    connection.channels.add(channel)
    const listeners = byChannel.get(channel)
    if (!listeners) {
      byChannel.set(channel, new SoleListener(connection))
      const subscribed = onBus(channel, 'subscribe')
      subscribing.set(channel, subscribed)
      const settled = () => {
        if (subscribing.get(channel) === subscribed) subscribing.delete(channel)
      }
      subscribed.then(settled, settled)
      return subscribed
    }
    if (listeners instanceof SoleListener) {
      byChannel.set(channel, new Set([listeners.only, connection]))
    } else listeners.add(connection)
    return pendingFor(channel)
  }

  const leave = (connection: Connection, channel: string): void => {
    connection.channels.delete(channel)
    const listeners = byChannel.get(channel)
    if (listeners instanceof SoleListener) {
      if (listeners.only !== connection) return
    } else if (!listeners?.delete(connection) || listeners.size > 0) return
    byChannel.delete(channel)
    void onBus(channel, 'unsubscribe')
  }

  const resubscribe = async (): Promise<void> => {
    const channels = [...byChannel.keys()]
    if (channels.length > 0)
      logger.warn('subscribing again after a reconnect', { channels: channels.length })
    await Promise.all(channels.map((channel) => onBus(channel, 'resubscribe')))
  }

  return { byChannel, join, leave, resubscribe }
}
