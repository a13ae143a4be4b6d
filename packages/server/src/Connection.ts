import {
  type EventFrame,
  isValidChannel,
  RedisseError,
  ReservedEvents,
  type ResetEventData,
  validateEventType,
} from '@redisse/protocol'
import type { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason, PushConnection, Transport } from './PushHandler'

/** What a connection needs from the node that holds it. */
export interface ConnectionHost {
  /** Bytes queued (or held during replay) before a client counts as slow. */
  readonly maxBufferedBytes: number
  readonly maxChannels: number
  /** False keeps SSE sockets on node:http (the `releaseSockets` option). */
  readonly releaseSockets?: boolean
  subscribe(connection: Connection, channel: string): Promise<void>
  unsubscribe(connection: Connection, channel: string): void
  /** Called once, after the transport was closed. */
  closed(connection: Connection): void
  /** A backlog was written out. */
  drained(connection: Connection): void
}

let nextId = 0

/**
 * One open connection of any transport. Holds what the hub needs (channels,
 * subject, the newest sequence sent, live frames held during replay) and the
 * push API; subclasses only turn events into bytes on their transport.
 * Kept small on purpose: no timers of its own (the hub sweeps keep-alives
 * for all connections at once).
 */
export abstract class Connection implements PushConnection {
  readonly id = ++nextId
  readonly openedAt = Date.now()
  readonly channels = new Set<string>()
  abstract readonly transport: Transport
  closed = false
  closeReason: CloseReason | undefined
  /** The token it opened with (token mode), so a revocation or its expiry can end it. */
  token: { readonly hash: string; readonly expiresAt: number | undefined } | undefined
  /** Sequence of the newest event written, so recovery never sends one twice. */
  lastSeq = 0
  /**
   * While history is replayed, live events and replayed ones wait here, to
   * be written in one merged pass in sequence order.
   */
  private held: OutgoingEvent[] | undefined
  private heldBytes = 0
  /** Replays in progress (the connection's own, and the node's recovery after a bus outage). */
  private holds = 0

  constructor(
    readonly subject: string | undefined,
    protected readonly host: ConnectionHost,
  ) {}

  /** Bytes written but not yet taken by the network. */
  abstract get pending(): number
  /** Writes one bus event on the transport. */
  protected abstract writeEvent(event: OutgoingEvent): boolean
  /** Writes an event that is not from the bus (reset, app writes). */
  protected abstract writeFrame(frame: EventFrame): boolean
  /** Keep-alive tick of the hub's sweep. */
  abstract heartbeat(): void
  /** Ends the transport. */
  protected abstract end(reason: CloseReason): void

  /**
   * False (and the connection closed) once the client's backlog passes the
   * limit: one slow reader cannot hold memory.
   */
  protected canWrite(): boolean {
    if (this.closed) return false
    if (this.pending > this.host.maxBufferedBytes) {
      this.close('slow-client')
      return false
    }
    return true
  }

  /**
   * Starts holding live events until the matching {@link goLive}, so replay
   * and live never interleave. Holds nest: events flow again once the last
   * replay in progress ends.
   */
  holdLive(): void {
    this.holds += 1
    this.held ??= []
  }

  /** True while live events are held. */
  get holding(): boolean {
    return this.held !== undefined
  }

  /** Writes one event unless an event at least as new was already written. */
  send(event: OutgoingEvent): boolean {
    if (event.seq <= this.lastSeq) return false
    this.lastSeq = event.seq
    return this.writeEvent(event)
  }

  /**
   * Delivers a live event, or holds it during replay (counted against the
   * same buffer limit as a slow client).
   */
  deliver(event: OutgoingEvent): boolean {
    if (!this.held) return this.send(event)
    if (this.closed) return false
    this.heldBytes += event.size
    if (this.heldBytes > this.host.maxBufferedBytes) {
      this.close('slow-client')
      return false
    }
    this.held.push(event)
    return true
  }

  /**
   * Delivers several live events in order, in one write where the transport
   * can coalesce them.
   * @returns how many were delivered (or held)
   */
  deliverMany(events: readonly OutgoingEvent[]): number {
    let delivered = 0
    const batch = events.length > 1
    if (batch) this.cork()
    try {
      for (const event of events) if (this.deliver(event)) delivered += 1
    } finally {
      if (batch) this.uncork()
    }
    return delivered
  }

  /**
   * Holds what is written until {@link uncork}, so a batch leaves in one
   * write to the network where the transport can (SSE and WebSocket cork
   * their socket).
   */
  protected cork(): void {}

  /** Writes out what {@link cork} held. */
  protected uncork(): void {}

  /**
   * Queues an event read from history during a replay. History and live
   * events are merged by sequence at {@link goLive}: live events read off
   * the subscriber connection may lag behind a history read on the command
   * connection, so neither side alone is complete. Not counted against the
   * buffer limit: history is bounded by its own size.
   * @returns false when the event was already written
   */
  replay(event: OutgoingEvent): boolean {
    if (event.seq <= this.lastSeq || this.closed) return false
    if (!this.held) return this.send(event)
    this.held.push(event)
    return true
  }

  /**
   * Ends one replay: events up to `afterSeq` count as sent (the client has
   * them). Once no replay is left, writes every held event newer than that,
   * history and live merged in sequence order, each once, and goes live.
   */
  goLive(afterSeq: number): void {
    if (afterSeq > this.lastSeq) this.lastSeq = afterSeq
    if (this.holds > 0) this.holds -= 1
    if (this.holds > 0) return
    const held = this.held ?? []
    this.held = undefined
    this.heldBytes = 0
    held.sort((a, b) => a.seq - b.seq)
    // A replay often writes hundreds of events at once.
    const batch = held.length > 1
    if (batch) this.cork()
    try {
      for (const event of held) this.send(event)
    } finally {
      if (batch) this.uncork()
    }
  }

  /** Sends `redisse:reset` for `data.channels`, with `id` as the client's new cursor when given. */
  reset(data: ResetEventData, id?: string): boolean {
    return this.writeFrame({
      ...(id === undefined ? {} : { id }),
      type: ReservedEvents.reset,
      data,
    })
  }

  write(type: string, data: unknown): boolean {
    validateEventType(type)
    return this.writeFrame({ type, data })
  }

  async subscribe(channel: string): Promise<void> {
    if (!isValidChannel(channel)) {
      throw new RedisseError(
        'invalid-channel',
        `invalid channel name ${JSON.stringify(String(channel).slice(0, 60))}`,
      )
    }
    if (this.closed || this.channels.has(channel)) return
    if (this.channels.size >= this.host.maxChannels) {
      throw new RedisseError(
        'too-many-channels',
        `connection already hears limits.channelsPerConnection (${this.host.maxChannels}) channels`,
      )
    }
    await this.host.subscribe(this, channel)
  }

  unsubscribe(channel: string): void {
    this.host.unsubscribe(this, channel)
  }

  /** Ends the connection (idempotent). */
  close(reason: CloseReason = 'app-closed'): void {
    if (this.closed) return
    this.closed = true
    this.closeReason = reason
    this.held = undefined
    this.end(reason)
    this.host.closed(this)
  }
}
