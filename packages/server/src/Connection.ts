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
  /** Bytes queued before a client counts as slow (live events held during a replay take at most half). */
  readonly maxBufferedBytes: number
  readonly maxChannels: number
  /** Client messages per second a WebSocket may send (token bucket); Infinity when unbounded. */
  readonly maxMessagesPerSecond?: number
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
   * While history is replayed, live events wait here, to be merged by
   * sequence with the history pages that reach them.
   */
  private held: OutgoingEvent[] | undefined
  private heldBytes = 0
  /** Replays in progress (the connection's own, and the node's recovery after a bus outage). */
  private holds = 0
  /**
   * Newest live event let go from {@link held} for room (0: none): history
   * holds it too, so the replay reads at least this far before going live.
   */
  heldDropped = 0
  /**
   * A replay of this connection's own is due (from the moment it joins) or
   * writing history: the node's recovery after a bus loss leaves it to it.
   */
  replaying = false
  /**
   * The node's recovery after a bus outage found this connection in its own
   * replay and left the missed events to it: that replay reads once more,
   * up to a head read after the bus came back.
   */
  recoveryPending = false
  /** Replays waiting for the backlog to shrink ({@link waitWritable}). */
  private waiters: Set<() => void> | undefined

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
   * After {@link end}: settles once the last bytes left, for a transport
   * whose answer is still on its way (a poll); until then the connection
   * stays counted by its host.
   */
  protected flushing(): Promise<void> | undefined {
    return undefined
  }

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
   * Delivers a live event, or holds it during replay. Held events take at
   * most half the buffer limit: beyond, they are let go and the replay reads
   * them from history instead (see {@link heldDropped}), so a long replay
   * on a busy channel neither loses them nor grows.
   */
  deliver(event: OutgoingEvent): boolean {
    if (!this.held) return this.send(event)
    if (this.closed || event.seq <= this.lastSeq) return false
    if (this.heldBytes + event.size > this.host.maxBufferedBytes / 2) {
      for (const held of this.held) if (held.seq > this.heldDropped) this.heldDropped = held.seq
      if (event.seq > this.heldDropped) this.heldDropped = event.seq
      this.held = []
      this.heldBytes = 0
      return false
    }
    this.heldBytes += event.size
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
   * Writes one page of history read during a replay, merged by sequence
   * with the held live events it reaches: `through` is the sequence up to
   * which the page holds every event of the connection's channels, so held
   * events up to it go out with it and none later falls behind it.
   * @returns how many events were written
   */
  replayPage(events: readonly OutgoingEvent[], through: number): number {
    if (this.closed) return 0
    let due = events
    if (this.held && this.held.length > 0) {
      const reached = this.held.filter((e) => e.seq <= through)
      if (reached.length > 0) {
        this.held = this.held.filter((e) => e.seq > through)
        this.heldBytes = 0
        for (const e of this.held) this.heldBytes += e.size
        due = [...events, ...reached].sort((a, b) => a.seq - b.seq)
      }
    }
    let sent = 0
    const batch = due.length > 1
    if (batch) this.cork()
    try {
      for (const event of due) {
        // A channel removed while the page was read is heard no more.
        if (this.channels.has(event.envelope.channel) && this.send(event)) sent += 1
      }
    } finally {
      if (batch) this.uncork()
    }
    if (through > this.lastSeq && !this.closed) this.lastSeq = through
    return sent
  }

  /**
   * Writes one event of a new log after a `redisse:reset` (the log went
   * backwards), or holds it with the live events when they are held, to be
   * merged by sequence at {@link goLive}. The log guard sends at most a
   * bounded number of them.
   * @returns false when the event was already written
   */
  replay(event: OutgoingEvent): boolean {
    if (event.seq <= this.lastSeq || this.closed) return false
    if (!this.held) return this.send(event)
    this.held.push(event)
    return true
  }

  /** Whether a replay should read more history for this connection (a full poll answer wants none). */
  get wantsReplay(): boolean {
    return !this.closed
  }

  /**
   * Resolves once at most `lowWater` bytes wait for the network, so a replay
   * writes its next page only when the client took the previous one. A
   * client that takes nothing for `stallMs` is cut off as a slow client.
   * @returns false when the connection is (now) closed
   */
  async waitWritable(lowWater: number, stallMs: number): Promise<boolean> {
    let least = this.pending
    let progressAt = Date.now()
    while (!this.closed && this.pending > lowWater) {
      // Woken by a drain; the timer also notices a backlog that shrinks
      // without one (a transport that queues above the socket).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(stallMs, 250))
        this.waiters ??= new Set()
        const waiters = this.waiters
        function done() {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        waiters.add(done)
      })
      const now = Date.now()
      if (this.pending < least) {
        least = this.pending
        progressAt = now
      } else if (now - progressAt >= stallMs) {
        this.close('slow-client')
      }
    }
    return !this.closed
  }

  /** The transport took the backlog: wakes a replay waiting for room, tells the host. */
  protected drained(): void {
    if (this.waiters) for (const wake of [...this.waiters]) wake()
    this.host.drained(this)
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
    this.heldDropped = 0
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

  /**
   * Writes one bus event as it is, whatever was written before: a stream
   * over several partitions writes the events of each partition's lane
   * here, with the stream's combined cursor as their id (sequences of two
   * partitions do not compare, so {@link send} cannot order them).
   */
  writeOut(event: OutgoingEvent): boolean {
    return this.writeEvent(event)
  }

  /** Writes a frame that is not from the bus, as a lane of the stream asks. */
  writeFrameOut(frame: EventFrame): boolean {
    return this.writeFrame(frame)
  }

  /** {@link cork}, for the lanes of a stream over several partitions. */
  corkOut(): void {
    this.cork()
  }

  /** {@link uncork}, for the lanes of a stream over several partitions. */
  uncorkOut(): void {
    this.uncork()
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
    if (this.waiters) for (const wake of [...this.waiters]) wake()
    this.end(reason)
    const flushing = this.flushing()
    if (flushing) void flushing.then(() => this.host.closed(this))
    else this.host.closed(this)
  }
}
