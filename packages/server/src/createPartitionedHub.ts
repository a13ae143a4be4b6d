import { type Envelope, partitionOf } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import type { Connection, ConnectionHost } from './Connection'
import { createConnectionIndex } from './createConnectionIndex'
import type { ReplayPacing } from './createHistoryPager'
import { countClosed, createHub, type Hub } from './createHub'
import { createHubCounters } from './createHubCounters'
import { createLatencyHistogram } from './createLatencyHistogram'
import type { Logger } from './createLogger'
import { Lane } from './Lane'
import { PartitionPositions } from './PartitionPositions'
import { cursorEntries, replayLanes, type StreamLanes } from './replayLanes'
import { startKeepAliveSweep } from './startKeepAliveSweep'

/**
 * The hub of a log split in partitions (Redis Cluster): one ordinary hub
 * per partition, over that partition's broker, so each partition keeps its
 * own sequence, replay, recovery after a bus outage and log guard, exactly
 * as a log of one partition does. A stream is a {@link Lane} in the hub of
 * each partition it hears; the lanes write through the stream, every event
 * under a cursor that names the stream's place in all of them.
 */
export function createPartitionedHub(options: {
  broker: Broker & { partitions: readonly Broker[] }
  logger: Logger
  keepAlive: number
  channelAsEvent: boolean
  /** Bytes a connection may queue (held live events take at most half). */
  maxBufferedBytes: number
  pacing?: ReplayPacing
}): Hub {
  const brokers = options.broker.partitions
  const counters = createHubCounters()
  const latency = createLatencyHistogram()
  const hubs = brokers.map((broker) =>
    createHub({
      broker,
      logger: options.logger,
      keepAlive: options.keepAlive,
      channelAsEvent: options.channelAsEvent,
      ...(options.pacing ? { pacing: options.pacing } : {}),
      shared: { counters, latency },
    }),
  )
  const hubOf = (partition: number) => hubs[partition] as (typeof hubs)[number]
  const hosts: ConnectionHost[] = hubs.map((hub) => ({
    maxBufferedBytes: options.maxBufferedBytes,
    maxChannels: Number.POSITIVE_INFINITY,
    // A lane's channels are the stream's: they change through the stream.
    subscribe: async () => {},
    unsubscribe: () => {},
    closed: (lane) => hub.detach(lane),
    drained: () => {},
  }))
  const index = createConnectionIndex()
  const connections = index.connections
  const streams = new Map<Connection, StreamLanes>()
  const partitionOfChannel = (channel: string) => partitionOf(channel, brokers.length)

  /**
   * The lane of a partition, new ones holding what they hear until the
   * partition's place is in the stream's cursor: no id may go out that
   * names some partitions of the stream and not the others.
   */
  const laneOf = (connection: Connection, stream: StreamLanes, partition: number) => {
    let lane = stream.lanes.get(partition)
    if (lane) return { lane, fresh: false }
    lane = new Lane(connection, partition, stream.positions, hosts[partition] as ConnectionHost)
    stream.lanes.set(partition, lane)
    lane.holdLive()
    if (connection.holding) {
      // The stream's own replay (a resume) releases this one, and from now
      // on the partition's recovery after a lost subscription leaves what
      // it reads to that replay: written now, before the replay sent
      // anything, events the client already has would pass for new.
      lane.holdLive()
      lane.replaying = true
    }
    return { lane, fresh: true }
  }

  /**
   * Places a new lane in the cursor at its partition's head, once it hears
   * its channels (known to the partition's hub while it hears them live,
   * else read). Not on a resume: there, a partition the cursor names
   * stands where the client is until its replay writes, and one it does not
   * name stays out of the cursor until its reset says where it restarts
   * (naming it sooner would let the client skip what it never got).
   */
  const place = async (stream: StreamLanes, partition: number, channels: readonly string[]) => {
    if (stream.resumed || stream.positions.has(partition)) return
    const head = await hubOf(partition).headFor(channels)
    stream.positions.advance(partition, head.epoch ?? '', head.seq)
  }

  const join = async (connection: Connection, channels: Iterable<string>) => {
    const stream = streams.get(connection)
    if (!stream) return
    const groups = new Map<number, string[]>()
    for (const channel of channels) {
      const partition = partitionOfChannel(channel)
      const group = groups.get(partition) ?? []
      group.push(channel)
      groups.set(partition, group)
      connection.channels.add(channel)
    }
    const fresh: Lane[] = []
    try {
      await Promise.all(
        [...groups].map(async ([partition, group]) => {
          const { lane, fresh: isNew } = laneOf(connection, stream, partition)
          const hub = hubOf(partition)
          if (!isNew) {
            await Promise.all(group.map((channel) => hub.addChannel(lane, channel)))
            return
          }
          fresh.push(lane)
          await hub.attach(lane, group)
          await place(stream, partition, group)
        }),
      )
    } finally {
      for (const lane of fresh) lane.goLive(0)
    }
  }

  const stopSweep = startKeepAliveSweep({
    connections,
    keepAlive: options.keepAlive,
    failed: (connection, err) =>
      options.logger.error('cannot write a keep-alive', { conn: connection.id, err: String(err) }),
  })

  return {
    counters,
    latency,
    partitions: hubs,
    connections,
    async attach(connection, channels, resumeFrom) {
      index.add(connection)
      streams.set(connection, {
        lanes: new Map(),
        positions: new PartitionPositions(
          resumeFrom === undefined ? [] : cursorEntries(resumeFrom, brokers.length),
        ),
        resumed: resumeFrom !== undefined,
      })
      await join(connection, channels)
      // Channels added later join from the head, as on a fresh stream.
      const stream = streams.get(connection)
      if (stream) stream.resumed = false
    },
    async addChannel(connection, channel) {
      if (!connection.closed) await join(connection, [channel])
    },
    removeChannel(connection, channel) {
      connection.channels.delete(channel)
      const partition = partitionOfChannel(channel)
      const lane = streams.get(connection)?.lanes.get(partition)
      if (lane) hubOf(partition).removeChannel(lane, channel)
    },
    detach(connection) {
      if (!index.delete(connection)) return
      countClosed(counters, connection)
      const stream = streams.get(connection)
      streams.delete(connection)
      for (const lane of stream?.lanes.values() ?? []) lane.close(connection.closeReason)
    },
    connectionsOf: index.of,
    channelCounts() {
      return Object.assign({}, ...hubs.map((hub) => hub.channelCounts()))
    },
    transportCounts: index.transportCounts,
    replay(request) {
      const stream = streams.get(request.connection)
      // Gone while it attached (the client left): nothing to replay to.
      if (!stream) {
        return Promise.resolve({
          replayed: 0,
          reset: undefined,
          head: { epoch: undefined, seq: 0 },
          pages: 0,
        })
      }
      return replayLanes({ ...request, brokers, hubs, stream })
    },
    // Each partition's hub follows its own broker (see wireHubToBroker).
    markSeen() {},
    busLost() {
      for (const hub of hubs) hub.busLost()
    },
    async recover() {
      await Promise.all(hubs.map((hub) => hub.recover()))
    },
    async resubscribe() {
      await Promise.all(hubs.map((hub) => hub.resubscribe()))
    },
    async checkLog() {
      return (await Promise.all(hubs.map((hub) => hub.checkLog()))).every(Boolean)
    },
    // Epochs are the partitions': their hubs answer for them.
    isRetired: () => false,
    servingNewLog: () => false,
    logRestart: () => undefined,
    outgoing: (envelope: Envelope) =>
      hubOf(partitionOfChannel(envelope.channel)).outgoing(envelope),
    close(reason) {
      stopSweep()
      for (const connection of [...connections]) connection.close(reason)
      for (const hub of hubs) hub.close(reason)
    },
  }
}
