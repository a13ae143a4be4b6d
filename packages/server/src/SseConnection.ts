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
  /** While history is replayed, live frames wait here with their sequence. */
  private held: Array<{ seq: number; frame: Buffer }> | undefined
  private heldBytes = 0
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

  /** Starts holding live frames until {@link goLive}, so replay and live never interleave. */
  holdLive(): void {
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

  /** Ends replay: writes the held frames newer than `afterSeq`, in order, and goes live. */
  goLive(afterSeq: number): void {
    const held = this.held ?? []
    this.held = undefined
    this.heldBytes = 0
    if (afterSeq > this.lastSeq) this.lastSeq = afterSeq
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
