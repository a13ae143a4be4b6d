import type { Envelope } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import type { Connection } from './Connection'
import {
  createHistoryPager,
  type HistoryPager,
  type PagerPage,
  type ReplayPacing,
  replayPacing,
} from './createHistoryPager'
import { createLatencyHistogram } from './createLatencyHistogram'
import { createLogGuard } from './createLogGuard'
import type { Logger } from './createLogger'
import { epochOf } from './createLogWatch'
import { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason, Transport } from './PushHandler'

/** Streams sent a keep-alive per tick of the sweep. */
const SWEEP_SLICE = 2000
/** Subscribers from which an event waits for the end of the loop turn, to share writes with others. */
const COALESCE_FROM_SUBSCRIBERS = 100
/** Tries of one history read of the recovery after a bus outage before its streams are ended. */
const RECOVERY_READ_ATTEMPTS = 3
/** Wait before the next try of a failed recovery read, times the tries so far, ms. */
const RECOVERY_RETRY_MS = 200

/** Counters the hub keeps for `/stats` and `/metrics`. */
export interface HubCounters {
  /** Envelopes received from the bus. */
  received: number
  /** Event frames written to connections. */
  delivered: number
  /** Events a node missed while its bus subscription was down, sent from history. */
  recovered: number
  /** Long polls served (answered at once or after waiting). */
  polls: number
  /** Messages WebSocket clients sent to `push.onMessage`. */
  messages: number
  /** Connections cut off for not reading. */
  slowClientDrops: number
  /** Connections closed, by reason. */
  closed: Record<CloseReason, number>
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
  /** Subscribes the connection to its channels; resolves once all are live on the bus. */
  attach(connection: Connection, channels: Iterable<string>): Promise<void>
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
}): Hub {
  const { broker, logger } = options
  const byChannel = new Map<string, Set<Connection>>()
  const bySubject = new Map<string, Set<Connection>>()
  const connections = new Set<Connection>()
  // Bus operations of one channel run in order, so a quick
  // unsubscribe/subscribe pair can never end unsubscribed.
  const busQueue = new Map<string, Promise<void>>()
  const counters: HubCounters = {
    received: 0,
    delivered: 0,
    recovered: 0,
    polls: 0,
    messages: 0,
    slowClientDrops: 0,
    closed: {
      'client-closed': 0,
      'slow-client': 0,
      'channels-revoked': 0,
      'token-revoked': 0,
      'token-expired': 0,
      'server-shutdown': 0,
      'write-error': 0,
      answered: 0,
      'app-closed': 0,
      'protocol-error': 0,
      'broker-unavailable': 0,
    },
  }

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
    flushBatch()
    connection.channels.add(channel)
    let set = byChannel.get(channel)
    if (!set) {
      set = new Set()
      byChannel.set(channel, set)
      set.add(connection)
      const subscribed = onBus(channel, 'subscribe')
      subscribing.set(channel, subscribed)
      const settled = () => {
        if (subscribing.get(channel) === subscribed) subscribing.delete(channel)
      }
      subscribed.then(settled, settled)
      return subscribed
    }
    set.add(connection)
    return pendingFor(channel)
  }

  const leave = (connection: Connection, channel: string): void => {
    connection.channels.delete(channel)
    const set = byChannel.get(channel)
    if (!set?.delete(connection) || set.size > 0) return
    byChannel.delete(channel)
    void onBus(channel, 'unsubscribe')
  }

  const latency = createLatencyHistogram()
  const outgoing = (envelope: Envelope) =>
    new OutgoingEvent(envelope, seqOf(envelope), options.channelAsEvent)
  let lastSeen = 0
  // Set while the bus is away or recovery has not finished: the newest
  // sequence received before the loss, where recovery reads history from.
  let recoverFrom: number | undefined
  // Bumped by every bus loss: a recovery that started before the latest
  // loss leaves the streams to the recovery after it.
  let losses = 0
  // Streams whose live frames wait for the recovery (one hold each).
  const heldForRecovery = new Set<Connection>()
  const releaseRecoveryHolds = () => {
    recoverFrom = undefined
    for (const connection of [...heldForRecovery]) {
      onStream(connection, () => connection.goLive(connection.lastSeq))
    }
    heldForRecovery.clear()
  }
  const holdForRecovery = (connection: Connection) => {
    if (heldForRecovery.has(connection) || connection.closed) return
    heldForRecovery.add(connection)
    connection.holdLive()
  }
  // Envelopes received together are delivered together: those of one
  // callback (one bus read often carries many) at its end, and, once a
  // broadcast is among them, those of the whole turn of the event loop (HTTP
  // publishes on the embedded broker each arrive in their own callback). A
  // connection due several of them gets them in one write, and each socket
  // is written (and flushed) in turn, so the first subscribers are not kept
  // waiting for the whole fan-out.
  let batch: OutgoingEvent[] = []
  // Flushes run on nextTick/setImmediate, where a throw would end the
  // process: an event that cannot be encoded (brokers check envelopes, but a
  // custom broker might not) costs that stream that write, nothing more.
  let failureLoggedAt = 0
  const deliveryFailed = (connection: Connection, err: unknown) => {
    if (Date.now() - failureLoggedAt < 1000) return
    failureLoggedAt = Date.now()
    logger.error('cannot deliver an event', { connection: connection.id, err: String(err) })
  }
  const flushBatch = () => {
    if (batch.length === 0) return
    const events = batch
    batch = []
    if (events.length === 1) {
      const event = events[0]!
      for (const connection of byChannel.get(event.envelope.channel) ?? []) {
        try {
          if (connection.deliver(event)) counters.delivered += 1
        } catch (err) {
          deliveryFailed(connection, err)
        }
      }
      return
    }
    const due = new Map<Connection, OutgoingEvent[]>()
    for (const event of events) {
      for (const connection of byChannel.get(event.envelope.channel) ?? []) {
        const list = due.get(connection)
        if (list) list.push(event)
        else due.set(connection, [event])
      }
    }
    for (const [connection, list] of due) {
      try {
        counters.delivered += connection.deliverMany(list)
      } catch (err) {
        deliveryFailed(connection, err)
      }
    }
  }
  const deliver = (envelope: Envelope, seq: number) => {
    if (seq > lastSeen) lastSeen = seq
    const set = byChannel.get(envelope.channel)
    if (!set || set.size === 0) return
    latency.observe((Date.now() - envelope.ts) / 1000)
    batch.push(new OutgoingEvent(envelope, seq, options.channelAsEvent))
    if (batch.length > 1) return
    // Waiting for the rest of the loop turn pays off for broadcasts (one
    // writev per socket for all of them); an event for a few streams goes
    // out at once.
    if (set.size >= COALESCE_FROM_SUBSCRIBERS) setImmediate(flushBatch)
    else process.nextTick(flushBatch)
  }
  // Epoch of the newest envelope received: a recovery page of another log stops there.
  let currentEpoch: string | undefined
  const guard = createLogGuard({
    broker,
    logger,
    hub: {
      connections,
      channels: () => [...byChannel.keys()],
      deliver,
      flush: flushBatch,
      outgoing,
      heldForRecovery: (connection) => heldForRecovery.has(connection),
      abandonRecovery() {
        if (recoverFrom === undefined) return
        losses += 1
        releaseRecoveryHolds()
      },
      recovering: () => recoverFrom !== undefined,
      losses: () => losses,
      seen(seq) {
        if (seq > lastSeen) lastSeen = seq
      },
      forget() {
        lastSeen = 0
      },
    },
  })
  broker.onEnvelope((envelope: Envelope) => {
    counters.received += 1
    const seq = seqOf(envelope)
    const verdict = guard.onEnvelope(envelope, seq)
    if (verdict === 'queued') return
    currentEpoch = epochOf(envelope)
    if (verdict === 'changed') {
      // Events of the old log still waiting in this tick go out before the reset.
      flushBatch()
      // Redis lost its log: sequences restart, and what was published in
      // between is gone. Every stream is told, then follows the new log.
      lastSeen = 0
      // Nothing of the old log can be recovered any more: the reset below
      // tells every stream, so held frames (all of the old log) go out first.
      if (recoverFrom !== undefined) {
        losses += 1
        releaseRecoveryHolds()
      }
      for (const connection of connections) {
        connection.reset({ channels: [...connection.channels], reason: 'epoch-changed' })
        connection.lastSeq = 0
      }
    }
    deliver(envelope, seq)
  })

  // One shared keep-alive sweep, written in slices over several ticks so
  // tens of thousands of streams never block the loop at once.
  const sweep = setInterval(() => {
    const due = [...connections]
    let at = 0
    const slice = () => {
      const end = Math.min(at + SWEEP_SLICE, due.length)
      for (; at < end; at++) {
        const connection = due[at]!
        if (connection.closed) continue
        // A timer callback: a transport that throws would end the process.
        try {
          connection.heartbeat()
        } catch (err) {
          deliveryFailed(connection, err)
          connection.close('write-error')
        }
      }
      if (at < due.length) setImmediate(slice)
    }
    slice()
  }, options.keepAlive)
  sweep.unref()

  const busLost = () => {
    flushBatch()
    losses += 1
    recoverFrom ??= lastSeen
    for (const connection of connections) holdForRecovery(connection)
  }

  // One stream's failure to take a recovered page (an event it cannot
  // encode, from a custom broker) ends that stream, not the recovery of the
  // others: its client reconnects and resumes from its cursor.
  const onStream = (connection: Connection, work: () => void): void => {
    try {
      work()
    } catch (err) {
      deliveryFailed(connection, err)
      connection.close('write-error')
    }
  }

  // A history read of the recovery that fails is tried again a few times
  // (a timeout or a reconnect in between is often transient) before the
  // streams are given up on.
  const readPage = async (pager: HistoryPager, loss: number): Promise<PagerPage | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await pager.next([...byChannel.keys()])
      } catch (err) {
        logger.error('cannot read history to recover missed events', {
          attempt,
          of: RECOVERY_READ_ATTEMPTS,
          err: String(err),
        })
        if (attempt >= RECOVERY_READ_ATTEMPTS || loss !== losses || broker.state !== 'ready') {
          return undefined
        }
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS * attempt))
        if (loss !== losses) return undefined
      }
    }
  }

  const recover = async (): Promise<void> => {
    if (recoverFrom === undefined) return
    // A failover may have brought back less than this node saw. A check
    // that cannot read Redis is tried again, as history reads are: the
    // streams stay held meanwhile, so a log found gone backwards then is
    // served with what they missed.
    const checkedAt = losses
    let found = await guard.check()
    for (let attempt = 1; found === 'unchecked' && attempt < RECOVERY_READ_ATTEMPTS; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS * attempt))
      if (checkedAt !== losses || broker.state !== 'ready') return
      found = await guard.check()
    }
    if (found === 'went-back' || recoverFrom === undefined) return
    const since = recoverFrom
    const loss = losses
    const streams = [...heldForRecovery]
    const pacing = options.pacing ?? replayPacing(256 * 1024, 30_000)
    // A stream that holds no room for a page is cut sooner than in its own
    // replay: every stream's live events wait for this one.
    const stallMs = Math.min(pacing.stallMs, 5000)
    let complete = false
    let recovered = 0
    try {
      const pager = createHistoryPager(broker, { from: since, pageBytes: pacing.pageBytes })
      for (;;) {
        // Unchecked, the log may have gone backwards under the same epoch:
        // read from `since`, it would skip the sequences it reused. The
        // streams end instead, and their replays check again.
        const page = found === 'unchecked' ? undefined : await readPage(pager, loss)
        if (loss !== losses || !page) break
        // A new log: the epoch change already reset every stream.
        if (currentEpoch !== undefined && page.epoch !== currentEpoch) {
          complete = true
          break
        }
        const byCh = new Map<string, OutgoingEvent[]>()
        for (const envelope of page.envelopes) {
          const list = byCh.get(envelope.channel)
          if (list) list.push(outgoing(envelope))
          else byCh.set(envelope.channel, [outgoing(envelope)])
        }
        const gaps = new Set(page.gaps)
        let dropped = 0
        for (const connection of streams) {
          if (connection.closed) continue
          // Its own replay, still running, reads what was missed too.
          if (connection.replaying) {
            connection.recoveryPending = true
            continue
          }
          onStream(connection, () => {
            const gapped = [...connection.channels].filter((channel) => gaps.has(channel))
            if (gapped.length > 0) connection.reset({ channels: gapped, reason: 'history-gap' })
            const due: OutgoingEvent[] = []
            for (const channel of connection.channels) due.push(...(byCh.get(channel) ?? []))
            due.sort((a, b) => a.seq - b.seq)
            const sent = connection.replayPage(due, page.through)
            recovered += sent
            counters.recovered += sent
          })
          if (connection.heldDropped > dropped) dropped = connection.heldDropped
        }
        if (page.complete && page.head >= dropped) {
          complete = true
          break
        }
        await Promise.all(
          streams.map((connection) =>
            connection.replaying ? true : connection.waitWritable(pacing.lowWater, stallMs),
          ),
        )
        if (loss !== losses) break
      }
      if (complete) {
        logger.warn('recovered events missed while the bus was away', { since, events: recovered })
      }
    } catch (err) {
      logger.error('cannot recover missed events from history', { err: String(err) })
    }
    // A bus lost again meanwhile keeps every stream held for the next recovery.
    if (loss !== losses || broker.state !== 'ready') return
    if (!complete) {
      // What was missed cannot be read now, but history may well still hold
      // it: the streams end, and their clients reconnect and resume from
      // their cursors (a reset would cost each of them a refetch, and claim
      // a loss that may not be).
      // A stream in its own replay reads once more instead (and is ended
      // by it if that read fails too).
      for (const connection of [...heldForRecovery]) {
        if (connection.replaying) connection.recoveryPending = true
        else connection.close('broker-unavailable')
      }
    }
    releaseRecoveryHolds()
  }

  const resubscribe = async (): Promise<void> => {
    const channels = [...byChannel.keys()]
    if (channels.length > 0)
      logger.warn('subscribing again after a reconnect', { channels: channels.length })
    await Promise.all(channels.map((channel) => onBus(channel, 'resubscribe')))
  }

  return {
    counters,
    latency,
    outgoing,
    resubscribe,
    markSeen(seq) {
      if (seq > lastSeen) lastSeen = seq
    },
    busLost,
    recover,
    checkLog: () => guard.check().then((found) => found !== 'unchecked'),
    isRetired: (epoch) => guard.isRetired(epoch),
    servingNewLog: () => guard.serving(),
    connections,
    async attach(connection, channels) {
      connections.add(connection)
      if (recoverFrom !== undefined) holdForRecovery(connection)
      if (connection.subject !== undefined) {
        const set = bySubject.get(connection.subject) ?? new Set()
        set.add(connection)
        bySubject.set(connection.subject, set)
      }
      await Promise.all([...channels].map((channel) => join(connection, channel)))
    },
    async addChannel(connection, channel) {
      if (!connection.closed) await join(connection, channel)
    },
    removeChannel(connection, channel) {
      leave(connection, channel)
    },
    detach(connection) {
      if (!connections.delete(connection)) return
      heldForRecovery.delete(connection)
      counters.closed[connection.closeReason ?? 'client-closed'] += 1
      if (connection.closeReason === 'slow-client') counters.slowClientDrops += 1
      for (const channel of [...connection.channels]) leave(connection, channel)
      if (connection.subject !== undefined) {
        const set = bySubject.get(connection.subject)
        set?.delete(connection)
        if (set?.size === 0) bySubject.delete(connection.subject)
      }
    },
    connectionsOf(subject) {
      return [...(bySubject.get(subject) ?? [])]
    },
    channelCounts() {
      const out: Record<string, number> = {}
      for (const [channel, set] of byChannel) out[channel] = set.size
      return out
    },
    transportCounts() {
      const out: Record<Transport, number> = { sse: 0, websocket: 0, poll: 0 }
      for (const connection of connections) out[connection.transport] += 1
      return out
    },
    close(reason) {
      clearInterval(sweep)
      for (const connection of [...connections]) connection.close(reason)
    },
  }
}
