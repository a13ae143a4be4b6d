import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** Why a stream ended, as logged and counted. */
export type CloseReason =
  | 'client-closed'
  | 'slow-client'
  | 'channels-revoked'
  | 'server-shutdown'
  | 'write-error'

let nextId = 0

/**
 * One open event stream. Kept small on purpose: the response, its socket,
 * its channels and subject; no timers of its own (the hub sweeps keep-alives
 * for all connections at once).
 */
export class SseConnection {
  readonly id = ++nextId
  readonly openedAt = Date.now()
  readonly channels = new Set<string>()
  closed = false
  closeReason: CloseReason | undefined
  /** Sequence of the newest event written, so recovery never sends one twice. */
  lastSeq = 0
  /**
   * While history is replayed, live frames and replayed ones wait here with
   * their sequence, to be written in one merged, ordered pass.
   */
  private held: Array<{ seq: number; frame: Buffer }> | undefined
  private heldBytes = 0
  /** Replays in progress (the stream's own, and the node's recovery after a bus outage). */
  private holds = 0
  private readonly socket: Socket | null

  constructor(
    readonly res: ServerResponse,
    readonly subject: string | undefined,
    private readonly maxBufferedBytes: number,
    private readonly onClose: (connection: SseConnection) => void,
  ) {
    this.socket = res.socket
    res.on('close', () => this.close('client-closed'))
    res.on('error', () => this.close('write-error'))
  }

  /** Bytes written but not yet taken by the kernel. */
  get pending(): number {
    return (this.socket?.writableLength ?? 0) + this.res.writableLength
  }

  /**
   * Writes bytes without waiting for `drain`; a client whose backlog passes
   * the limit is cut off instead, so one slow reader cannot hold memory.
   * @returns false when the connection is (now) closed
   */
  write(chunk: Buffer | string): boolean {
    if (this.closed) return false
    if (this.pending > this.maxBufferedBytes) {
      this.close('slow-client')
      return false
    }
    this.res.write(chunk)
    return true
  }

  /**
   * Starts holding live frames until the matching {@link goLive}, so replay
   * and live never interleave. Holds nest: frames flow again after the last
   * replay in progress ends.
   */
  holdLive(): void {
    this.holds += 1
    this.held ??= []
  }

  /** True while live frames are held. */
  get holding(): boolean {
    return this.held !== undefined
  }

  /** Writes one event frame unless an event at least as new was already written. */
  send(seq: number, frame: Buffer): boolean {
    if (seq <= this.lastSeq) return false
    this.lastSeq = seq
    return this.write(frame)
  }

  /**
   * Delivers a live frame, or holds it during replay (counted against the
   * same buffer limit as a slow client).
   */
  deliver(seq: number, frame: Buffer): boolean {
    if (!this.held) return this.send(seq, frame)
    if (this.closed) return false
    this.heldBytes += frame.length
    if (this.heldBytes > this.maxBufferedBytes) {
      this.close('slow-client')
      return false
    }
    this.held.push({ seq, frame })
    return true
  }

  /**
   * Queues a frame read from history during a replay. History and live
   * frames are merged by sequence at {@link goLive}: the histories of
   * several channels are read at different instants, so neither side alone
   * is a consistent cut. Not counted against the buffer limit: history is
   * bounded by its own size.
   * @returns false when the event was already written
   */
  replay(seq: number, frame: Buffer): boolean {
    if (seq <= this.lastSeq || this.closed) return false
    if (!this.held) return this.send(seq, frame)
    this.held.push({ seq, frame })
    return true
  }

  /**
   * Ends one replay: events up to `afterSeq` count as sent (the client has
   * them). Once no replay is left, writes every held frame newer than that,
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
    for (const { seq, frame } of held) this.send(seq, frame)
  }

  /** Ends the stream (idempotent). */
  close(reason: CloseReason): void {
    if (this.closed) return
    this.closed = true
    this.closeReason = reason
    if (reason === 'slow-client' || reason === 'write-error') this.res.destroy()
    else if (!this.res.writableEnded) this.res.end()
    this.onClose(this)
  }
}
