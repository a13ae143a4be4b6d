import { type Envelope, epochOf } from '@redisse/protocol'
import type { Broker, LogHead } from './broker/Broker'
import type { Connection } from './Connection'
import { createBusSubscriptions } from './createBusSubscriptions'
import { createConnectionIndex } from './createConnectionIndex'
import { createDeliveryBatch } from './createDeliveryBatch'
import type { ReplayPacing } from './createHistoryPager'
import { createHubCounters, type HubCounters } from './createHubCounters'
import { createKnownHead, type KnownHead } from './createKnownHead'
import { createLatencyHistogram } from './createLatencyHistogram'
import { createLogGuard } from './createLogGuard'
import type { Logger } from './createLogger'
import { createRecovery } from './createRecovery'
import { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason, Transport } from './PushHandler'
import type { ReplayOutcome, ReplayRequest } from './replayHistory'
import { startKeepAliveSweep } from './startKeepAliveSweep'

export type { HubCounters } from './createHubCounters'

/** Counts a connection that closed, by its reason. */
export function countClosed(counters: HubCounters, connection: Connection): void {
  counters.closed[connection.closeReason ?? 'client-closed'] += 1
  if (connection.closeReason === 'slow-client') counters.slowClientDrops += 1
}

/** Sequence of an envelope, from its cursor `epoch-seq`. */
export function seqOf(envelope: Envelope): number {
  return Number(envelope.id.slice(envelope.id.lastIndexOf('-') + 1))
}

/** The fan-out engine of one server node. */
export interface Hub {
  readonly counters: HubCounters
  /** Publish-to-write latency of events with local listeners. */
  readonly latency: ReturnType<typeof createLatencyHistogram>
  readonly connections: ReadonlySet<Connection>
  /**
   * Subscribes the connection to its channels; resolves once all are live
   * on the bus. `resumeFrom`: the `Last-Event-ID` it resumes from, which a
   * log in partitions needs before the first write (the stream's cursor
   * starts from it).
   */
  attach(connection: Connection, channels: Iterable<string>, resumeFrom?: string): Promise<void>
  /** Adds one channel to an open connection (live channel-list edit). */
  addChannel(connection: Connection, channel: string): Promise<void>
  /** Removes one channel from an open connection. */
  removeChannel(connection: Connection, channel: string): void
  /** Forgets a closed connection and releases its subscriptions. */
  detach(connection: Connection): void
  /** Open connections of a subject (token mode). */
  connectionsOf(subject: string): Iterable<Connection>
  /** Subscriber count per channel on this node. */
  channelCounts(): Record<string, number>
  /** Open connections per transport. */
  transportCounts(): Record<Transport, number>
  /** Records the newest sequence of the log at start-up (nothing older is ever recovered). */
  markSeen(seq: number): void
  /**
   * The bus subscription is gone: remembers the newest event received and
   * holds live frames on every stream until {@link recover} has sent what
   * was missed, so recovered events never arrive after newer live ones.
   */
  busLost(): void
  /**
   * After the bus subscription came back: sends every stream the events it
   * missed meanwhile from history, in order and once, or a `redisse:reset`
   * for channels whose gap history no longer covers.
   */
  recover(): Promise<void>
  /**
   * After the bus subscription came back (before {@link recover}): sends
   * SUBSCRIBE again for every channel with local listeners, so a SUBSCRIBE
   * the connection lost in flight leaves no channel deaf. What `/stats`
   * lists is then what the node hears.
   */
  resubscribe(): Promise<void>
  /**
   * Resolves once the node checked, since its last bus loss, that Redis
   * still holds what it saw (a failover to a lagging replica loses events
   * and reuses their sequences); a log that went backwards gets a new
   * epoch, and every stream a reset, before it resolves. Never rejects.
   * @returns false when Redis could not be read: the log may have gone
   * backwards unseen, so nothing may be read from it as if it had not
   */
  checkLog(): Promise<boolean>
  /** True for an epoch whose log went backwards: its cursors name no place in the log any more. */
  isRetired(epoch: string): boolean
  /**
   * True while the node has yet to serve its streams after the log went
   * backwards: every stream then gets a reset and the new log's events.
   */
  servingNewLog(): boolean
  /**
   * After the log went backwards: where a cursor of the retired epoch
   * resumes, in the new epoch, just before the new log's events (undefined
   * while the new epoch is not in place).
   */
  logRestart(): LogHead | undefined
  /**
   * The hubs of the log's partitions (Redis Cluster), each over its
   * partition's broker; absent on a log of one partition, which this hub
   * serves itself.
   */
  readonly partitions?: readonly Hub[]
  /**
   * Resumes a stream over several partitions from its `Last-Event-ID`
   * (each partition from its own place). Absent on a log of one partition,
   * where `replayHistory` does it.
   */
  replay?(request: Omit<ReplayRequest, 'broker' | 'hub'>): Promise<ReplayOutcome>
  /** An envelope ready for delivery, encoded lazily once per transport. */
  outgoing(envelope: Envelope): OutgoingEvent
  /** Ends every stream and stops the keep-alive sweep. */
  close(reason: CloseReason): void
}

/**
 * Builds the hub: channel → local connections, with one bus subscription per
 * channel however many connections hear it (subscribe on the first,
 * unsubscribe after the last). Every envelope is encoded once per transport
 * and the same Buffer (SSE) or text (WebSocket, poll) written to each connection.
 */
export function createHub(options: {
  broker: Broker
  logger: Logger
  keepAlive: number
  channelAsEvent: boolean
  /** Page size and write pacing of the recovery after a bus outage. */
  pacing?: ReplayPacing
  /**
   * Counters and latency shared with other hubs (the partitions of one
   * node), which then count closed connections themselves.
   */
  shared?: { counters: HubCounters; latency: ReturnType<typeof createLatencyHistogram> }
}): Hub & Pick<KnownHead, 'headFor'> {
  const { broker, logger } = options
  const index = createConnectionIndex()
  const connections = index.connections
  const counters = options.shared?.counters ?? createHubCounters()
  const subscriptions = createBusSubscriptions({ broker, logger, flush: () => batch.flush() })
  const { byChannel } = subscriptions
  // Live, the node hears every event of its channels: a stream joining
  // one needs no head read of its own (see createKnownHead).
  const knownHead = createKnownHead({
    broker,
    live: () => broker.state === 'ready' && !recovery.recovering() && !guard.serving(),
  })
  const join = (connection: Connection, channel: string) => {
    const fresh = !byChannel.has(channel)
    const joined = subscriptions.join(connection, channel)
    if (fresh && byChannel.has(channel)) knownHead.heard(channel)
    return joined
  }
  const leave = (connection: Connection, channel: string) => {
    subscriptions.leave(connection, channel)
    if (!byChannel.has(channel)) knownHead.unheard(channel)
  }
  const channelsHeard = () => [...byChannel.keys()]

  const latency = options.shared?.latency ?? createLatencyHistogram()
  // Events of a retired epoch go out under the epoch that replaced it (see LogGuard.adopt).
  const outgoing = (envelope: Envelope) =>
    new OutgoingEvent(guard.adopt(envelope), seqOf(envelope), options.channelAsEvent)
  const batch = createDeliveryBatch({
    byChannel,
    counters,
    latency,
    logger,
    channelAsEvent: options.channelAsEvent,
  })
  const recovery = createRecovery({
    broker,
    logger,
    connections,
    channels: channelsHeard,
    flush: batch.flush,
    failed: batch.failed,
    outgoing,
    counters,
    checkLog: () => guard.check(),
    pacing: options.pacing,
  })
  const deliver = (received: Envelope, seq: number) => {
    const envelope = guard.adopt(received)
    // Every envelope moves where a later recovery reads from, heard here or not.
    recovery.seen(seq)
    knownHead.seen(epochOf(envelope), seq)
    batch.deliver(envelope, seq)
  }
  // What the node heard of the log no longer holds (it went backwards):
  // neither where a recovery reads from nor where a new stream starts.
  const forgetLog = () => {
    recovery.forget()
    knownHead.forget()
  }
  const guard = createLogGuard({
    broker,
    logger,
    hub: {
      connections,
      channels: channelsHeard,
      deliver,
      flush: batch.flush,
      outgoing,
      heldForRecovery: recovery.isHeld,
      abandonRecovery: recovery.abandon,
      recovering: recovery.recovering,
      losses: recovery.losses,
      seen: recovery.seen,
      forget: forgetLog,
      follow: recovery.follow,
      receive: (envelope) => receive(envelope),
      dropForged: () => {
        counters.forgedEnvelopes += 1
      },
    },
  })
  broker.onEnvelope((envelope: Envelope) => {
    counters.received += 1
    receive(envelope)
  })
  // An envelope from the bus, or one the guard held while it checked one
  // far ahead of the log before it.
  function receive(received: Envelope): void {
    const seq = seqOf(received)
    const verdict = guard.onEnvelope(received, seq)
    if (verdict === 'queued') return
    const envelope = guard.adopt(received)
    recovery.follow(epochOf(envelope))
    if (verdict === 'changed') {
      // Events of the old log still waiting in this tick go out before the reset.
      batch.flush()
      // Redis lost its log: sequences restart, and what was published in
      // between is gone. Every stream is told, then follows the new log.
      forgetLog()
      // Nothing of the old log can be recovered any more: the reset below
      // tells every stream, so held frames (all of the old log) go out first.
      recovery.abandon()
      for (const connection of connections) {
        connection.reset({ channels: [...connection.channels], reason: 'epoch-changed' })
        connection.lastSeq = 0
      }
    }
    deliver(envelope, seq)
  }

  const stopSweep = startKeepAliveSweep({
    connections,
    keepAlive: options.keepAlive,
    failed: batch.failed,
  })

  return {
    counters,
    latency,
    outgoing,
    resubscribe: subscriptions.resubscribe,
    markSeen: recovery.seen,
    busLost: () => {
      knownHead.forget()
      recovery.busLost()
    },
    headFor: knownHead.headFor,
    recover: recovery.recover,
    checkLog: () => guard.check().then((found) => found !== 'unchecked'),
    isRetired: (epoch) => guard.isRetired(epoch),
    servingNewLog: () => guard.serving(),
    logRestart: () => guard.restartPoint(),
    connections,
    async attach(connection, channels) {
      index.add(connection)
      recovery.admit(connection)
      await Promise.all([...channels].map((channel) => join(connection, channel)))
    },
    async addChannel(connection, channel) {
      if (!connection.closed) await join(connection, channel)
    },
    removeChannel(connection, channel) {
      leave(connection, channel)
    },
    detach(connection) {
      if (!index.delete(connection)) return
      recovery.drop(connection)
      if (!options.shared) countClosed(counters, connection)
      for (const channel of [...connection.channels]) leave(connection, channel)
    },
    connectionsOf: index.of,
    channelCounts() {
      const out: Record<string, number> = {}
      for (const [channel, set] of byChannel) out[channel] = set.size
      return out
    },
    transportCounts: index.transportCounts,
    close(reason) {
      stopSweep()
      for (const connection of [...connections]) connection.close(reason)
    },
  }
}
