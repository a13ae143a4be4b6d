import type { Envelope } from '@redisse/protocol'
import type { Connection } from './Connection'
import type { HubCounters } from './createHubCounters'
import type { createLatencyHistogram } from './createLatencyHistogram'
import type { Logger } from './createLogger'
import { OutgoingEvent } from './OutgoingEvent'

/** Subscribers from which an event waits for the end of the loop turn, to share writes with others. */
const COALESCE_FROM_SUBSCRIBERS = 100

/** The events of one tick, written to the local connections of their channels. */
export interface DeliveryBatch {
  /** Queues a bus envelope for the local connections of its channel. */
  deliver(envelope: Envelope, seq: number): void
  /** Writes what is queued now. */
  flush(): void
  /** Logs (at most once a second) that a write to the connection threw. */
  failed(connection: Connection, err: unknown): void
}

/**
 * Builds the per-tick delivery batch of the hub: each event is encoded once
 * per transport and the same Buffer (SSE) or text (WebSocket, poll) written
 * to each connection.
 */
export function createDeliveryBatch(options: {
  byChannel: ReadonlyMap<string, ReadonlySet<Connection>>
  counters: HubCounters
  latency: ReturnType<typeof createLatencyHistogram>
  logger: Logger
  channelAsEvent: boolean
}): DeliveryBatch {
  const { byChannel, counters, latency, logger } = options
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
      const set = byChannel.get(event.envelope.channel)
      if (set === undefined) return
      for (const connection of set) {
        try {
          if (connection.deliver(event)) counters.delivered += 1
        } catch (err) {
          deliveryFailed(connection, err)
        }
      }
      return
    }
    // On many small channels most connections are due one event of the
    // batch: that one is kept bare, and a list made only for a second.
    const due = new Map<Connection, OutgoingEvent | OutgoingEvent[]>()
    for (const event of events) {
      const set = byChannel.get(event.envelope.channel)
      if (set === undefined) continue
      for (const connection of set) {
        const held = due.get(connection)
        if (held === undefined) due.set(connection, event)
        else if (Array.isArray(held)) held.push(event)
        else due.set(connection, [held, event])
      }
    }
    for (const [connection, held] of due) {
      try {
        if (Array.isArray(held)) counters.delivered += connection.deliverMany(held)
        else if (connection.deliver(held)) counters.delivered += 1
      } catch (err) {
        deliveryFailed(connection, err)
      }
    }
  }
  const deliver = (envelope: Envelope, seq: number) => {
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
  return { deliver, flush: flushBatch, failed: deliveryFailed }
}
