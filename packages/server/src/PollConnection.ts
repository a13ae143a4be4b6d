import type { ServerResponse } from 'node:http'
import {
  type EventFrame,
  encodeEventFrame,
  encodePollResponse,
  parseEventId,
  parsePartitionedCursor,
  RedisseError,
} from '@redisse/protocol'
import { Connection, type ConnectionHost } from './Connection'
import { sendError } from './httpErrors'
import type { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

/** Settings of long polls. */
export interface PollSettings {
  /** Longest wait for a first event, ms. */
  wait: number
  /** Most events in one answer. */
  maxEvents: number
  /**
   * Most bytes of events in one answer (one larger event still goes alone);
   * the next poll continues from the answer's cursor.
   */
  maxBytes: number
  /** After a first live event, how long to gather more before answering, ms. */
  coalesce: number
}

/** How long an answer may take to leave before its socket is cut, ms. */
const FLUSH_TIMEOUT = 30_000

/**
 * One `GET /poll` request while it waits: it collects JSON frames (the very
 * text WebSocket connections send) and answers once, with the cursor to
 * poll from next. It is a connection like the others while it waits, so
 * live edits, limits and fan-out treat it alike, and it stays counted until
 * its answer has left (or its socket is gone), so polls that never read
 * their answers cannot escape `limits.connections`.
 */
export class PollConnection extends Connection {
  readonly transport = 'poll'
  private readonly frames: string[] = []
  private bytes = 0
  private full = false
  private waiting = false
  private coalescing = false
  private timer: NodeJS.Timeout | undefined
  private cursor: { id: string; epoch: string; seq: number } | undefined

  constructor(
    private readonly res: ServerResponse,
    subject: string | undefined,
    host: ConnectionHost,
    private readonly settings: PollSettings,
  ) {
    super(subject, host)
    res.on('close', () => this.close('client-closed'))
    res.on('error', () => this.close('write-error'))
  }

  /** Bytes of the answer gathered so far. */
  get pending(): number {
    return this.bytes
  }

  /** The `lastEventId` the answer would carry now. */
  get lastEventId(): string | null {
    return this.cursor?.id ?? null
  }

  /**
   * Moves the answer's cursor to `id` when it is newer (or of another epoch,
   * or `force`d: a reset names the head to restart from). Ignored once the
   * answer is full, so the next poll continues right after its last event.
   */
  advance(id: string, force = false): void {
    if (this.full) return
    const parsed = parseEventId(id)
    if (!parsed) {
      // A stream over several partitions writes its cursors in order: the last one holds.
      if (parsePartitionedCursor(id)) this.cursor = { id, epoch: '', seq: 0 }
      return
    }
    const { epoch, seq } = parsed.cursor
    if (!force && this.cursor && this.cursor.epoch === epoch && this.cursor.seq > seq) return
    this.cursor = { id, epoch, seq }
  }

  /** Replay is done: answers at once when something is gathered, else waits up to `settings.wait`. */
  wait(): void {
    if (this.closed) return
    if (this.frames.length > 0) {
      this.close('answered')
      return
    }
    this.waiting = true
    this.timer = setTimeout(() => this.close('answered'), this.settings.wait)
  }

  protected writeEvent(event: OutgoingEvent): boolean {
    return this.add(event.json, event.id, false)
  }

  protected writeFrame(frame: EventFrame): boolean {
    return this.add(encodeEventFrame(frame), frame.id, true)
  }

  /** A full answer wants no more history: the next poll reads on from its cursor. */
  override get wantsReplay(): boolean {
    return !this.closed && !this.full
  }

  /** The answer is gathered in memory, bounded by `maxBytes`: nothing to wait for. */
  override async waitWritable(): Promise<boolean> {
    return !this.closed
  }

  private add(text: string, id: string | undefined, force: boolean): boolean {
    if (this.closed || this.full) return false
    if (this.frames.length > 0 && this.bytes + Buffer.byteLength(text) > this.settings.maxBytes) {
      this.full = true
      if (this.waiting) this.close('answered')
      return false
    }
    this.frames.push(text)
    this.bytes += Buffer.byteLength(text)
    if (id !== undefined) this.advance(id, force)
    if (this.frames.length >= this.settings.maxEvents || this.bytes >= this.settings.maxBytes) {
      this.full = true
    }
    if (!this.waiting) return true
    if (this.full) {
      this.close('answered')
    } else if (!this.coalescing) {
      // The first live event cuts the long wait short, leaving a burst a
      // moment to arrive in the same answer.
      this.coalescing = true
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.close('answered'), this.settings.coalesce)
    }
    return true
  }

  heartbeat(): void {}

  protected end(reason: CloseReason): void {
    clearTimeout(this.timer)
    if (reason === 'client-closed') return
    if (reason === 'broker-unavailable') {
      // The client polls again from its own cursor, so nothing is lost.
      sendError(
        this.res,
        new RedisseError('broker-unavailable', 'Redis did not answer in time: poll again shortly'),
        { 'Retry-After': '1' },
      )
      return
    }
    if (reason === 'write-error' || this.res.headersSent) {
      this.res.destroy()
      return
    }
    const body = encodePollResponse(this.frames, this.lastEventId)
    this.res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    })
    this.res.end(body)
  }

  protected override flushing(): Promise<void> | undefined {
    const { res } = this
    // Only an answer that was written has bytes on their way.
    if (this.closeReason === 'client-closed' || this.closeReason === 'write-error') return undefined
    if (res.writableFinished || res.destroyed || !res.socket || res.socket.destroyed)
      return undefined
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        res.destroy()
        done()
      }, FLUSH_TIMEOUT)
      timer.unref()
      res.once('finish', done)
      res.once('close', done)
    })
  }
}
