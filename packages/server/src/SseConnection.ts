import { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type EventFrame, encodeComment, encodeEvent } from '@redisse/protocol'
import { Connection, type ConnectionHost } from './Connection'
import { type OutgoingEvent, toHttpChunk } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

const HEARTBEAT = Buffer.from(encodeComment(''), 'utf8')
const HEARTBEAT_CHUNK = toHttpChunk(HEARTBEAT)

/** One open event stream over a `ServerResponse`. */
export class SseConnection extends Connection {
  readonly transport = 'sse'
  private readonly socket: Socket | null
  /**
   * Frames go straight to the socket (framed here as chunks when the
   * response is chunked) once node:http has sent the headers: one shared
   * Buffer per event and one write per socket per batch, instead of
   * node:http's per-write chunk header, writev and nextTick.
   */
  private readonly direct: boolean
  private readonly chunked: boolean
  private awaitingDrain = false
  /** Something was written since the last keep-alive sweep. */
  private active = false

  constructor(
    readonly res: ServerResponse,
    subject: string | undefined,
    host: ConnectionHost,
  ) {
    super(subject, host)
    const socket = res.socket
    this.socket = socket
    this.chunked = res.chunkedEncoding
    this.direct =
      socket !== null &&
      res.headersSent &&
      res.writableLength === socket.writableLength &&
      (socket as Socket & { _httpMessage?: unknown })._httpMessage === res &&
      // Middleware that wraps write (compression, body loggers) must see
      // every byte, or a gzip stream would carry plain frames.
      res.write === ServerResponse.prototype.write &&
      res.getHeader('content-encoding') === undefined
    res.on('close', () => this.close('client-closed'))
    res.on('error', () => this.close('write-error'))
    const onDrain = () => {
      if (!this.awaitingDrain || this.closed) return
      this.awaitingDrain = false
      this.host.drained(this)
    }
    if (this.direct) socket?.on('drain', onDrain)
    else res.on('drain', onDrain)
  }

  get pending(): number {
    if (this.direct) return this.socket?.writableLength ?? 0
    return (this.socket?.writableLength ?? 0) + this.res.writableLength
  }

  /**
   * Writes bytes without waiting for `drain`; a client whose backlog passes
   * the limit is cut off instead.
   * @returns false when the connection is (now) closed
   */
  writeRaw(chunk: Buffer | string): boolean {
    if (!this.direct) {
      if (!this.canWrite()) return false
      this.active = true
      if (!this.res.write(chunk)) this.awaitingDrain = true
      return true
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    return this.writeFramed(this.chunked ? toHttpChunk(bytes) : bytes)
  }

  /** Writes bytes already framed for the wire (a whole chunk when chunked). */
  private writeFramed(bytes: Buffer): boolean {
    if (!this.canWrite()) return false
    this.active = true
    if (!this.socket!.write(bytes)) this.awaitingDrain = true
    return true
  }

  override deliverMany(events: readonly OutgoingEvent[]): number {
    const socket = this.socket
    if (!this.direct || !socket || events.length < 2) return super.deliverMany(events)
    // Every frame of this batch leaves in one writev.
    socket.cork()
    try {
      return super.deliverMany(events)
    } finally {
      socket.uncork()
    }
  }

  protected writeEvent(event: OutgoingEvent): boolean {
    if (!this.direct) return this.writeRaw(event.sse)
    return this.writeFramed(this.chunked ? event.sseChunk : event.sse)
  }

  protected writeFrame(frame: EventFrame): boolean {
    return this.writeRaw(
      encodeEvent({
        ...(frame.id === undefined ? {} : { id: frame.id }),
        event: frame.type,
        data: JSON.stringify(frame.data ?? null),
      }),
    )
  }

  heartbeat(): void {
    // A stream that carried anything since the last sweep is alive enough.
    if (this.active) {
      this.active = false
      return
    }
    if (!this.direct) this.writeRaw(HEARTBEAT)
    else this.writeFramed(this.chunked ? HEARTBEAT_CHUNK : HEARTBEAT)
    this.active = false
  }

  protected end(reason: CloseReason): void {
    if (reason === 'slow-client' || reason === 'write-error') this.res.destroy()
    else if (!this.res.writableEnded) this.res.end()
  }
}
