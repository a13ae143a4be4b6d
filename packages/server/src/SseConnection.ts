import { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type EventFrame, encodeComment, encodeEvent } from '@redisse/protocol'
import { Connection, type ConnectionHost } from './Connection'
import { canDetachHttpSocket, detachHttpSocket, returnHttpSocket } from './detachHttpSocket'
import { type OutgoingEvent, toHttpChunk } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1')
/** How long the last bytes of a stream that ends its connection may take to leave. */
const END_TIMEOUT_MS = 2000
/** Our `close` and `error` listeners on the response (see {@link SseConnection.leaveHttp}). */
const OWN_RESPONSE_LISTENERS = { close: 1, error: 1 }

function ignore(): void {}

function destroyOnError(this: Socket): void {
  this.destroy()
}

/**
 * The stream each socket (or response, before the socket is taken) carries,
 * so one set of listener functions serves every stream: a closure per
 * stream per event would cost more than the rest of the stream's own state.
 */
const streams = new WeakMap<object, SseConnection>()

function onDrain(this: object): void {
  streams.get(this)?.onDrain()
}

function onClientGone(this: Socket): void {
  streams.get(this)?.close('client-closed')
}

function onSocketError(this: Socket): void {
  streams.get(this)?.close('write-error')
}

function onResponseClose(this: ServerResponse): void {
  streams.get(this)?.close('client-closed')
}

function onResponseError(this: ServerResponse): void {
  streams.get(this)?.close('write-error')
}

function leaveHttpOf(connection: SseConnection): void {
  connection.leaveHttp()
}

const HEARTBEAT = Buffer.from(encodeComment(''), 'utf8')
const HEARTBEAT_CHUNK = toHttpChunk(HEARTBEAT)

/** One open event stream over a `ServerResponse`. */
export class SseConnection extends Connection {
  // On the prototype: a field would cost every stream a slot.
  get transport(): 'sse' {
    return 'sse'
  }
  private readonly socket: Socket | null
  /**
   * Frames go straight to the socket (framed here as chunks when the
   * response is chunked) once node:http has sent the headers: one shared
   * Buffer per event and one write per socket per batch, instead of
   * node:http's per-write chunk header, writev and nextTick.
   */
  private direct: boolean
  private readonly chunked: boolean
  /** Null once the socket was taken from node:http ({@link leaveHttp}). */
  private res: ServerResponse | null
  private awaitingDrain = false
  /** Something was written since the last keep-alive sweep. */
  private active = false

  constructor(res: ServerResponse, subject: string | undefined, host: ConnectionHost) {
    super(subject, host)
    this.res = res
    const socket = res.socket
    this.socket = socket
    this.chunked = res.chunkedEncoding
    this.direct = this.canWriteDirect()
    streams.set(res, this)
    res.on('close', onResponseClose)
    res.on('error', onResponseError)
    if (socket) streams.set(socket, this)
    if (this.direct) socket?.on('drain', onDrain)
    else res.on('drain', onDrain)
    // Not from inside node:http's request callback (see detachHttpSocket).
    // Node ≥ 24 holds the headers in the response until the next tick, so
    // writing direct is decided again there.
    setImmediate(leaveHttpOf, this)
  }

  private canWriteDirect(): boolean {
    const { res, socket } = this
    return (
      res !== null &&
      socket !== null &&
      res.headersSent &&
      res.writableLength === socket.writableLength &&
      (socket as Socket & { _httpMessage?: unknown })._httpMessage === res &&
      // Middleware that wraps write (compression, body loggers) must see
      // every byte, or a gzip stream would carry plain frames.
      res.write === ServerResponse.prototype.write &&
      res.getHeader('content-encoding') === undefined
    )
  }

  /** The socket (or the response) took the backlog. */
  onDrain(): void {
    if (!this.awaitingDrain || this.closed) return
    this.awaitingDrain = false
    this.drained()
  }

  /**
   * Keeps only the socket once the stream is open: node:http's request,
   * response and parser cost more than the stream itself.
   */
  /** @internal */
  leaveHttp(): void {
    const { res, socket } = this
    if (this.closed || !res || !socket) return
    if (!this.direct) {
      // Only once the response holds nothing: every byte so far is in the socket, in order.
      if (this.awaitingDrain || !this.canWriteDirect()) return
      this.direct = true
      res.off('drain', onDrain)
      socket.on('drain', onDrain)
    }
    if (this.host.releaseSockets === false) return
    if (!canDetachHttpSocket(res.req, res, OWN_RESPONSE_LISTENERS)) return
    if (!detachHttpSocket(socket)) return
    this.res = null
    socket.on('close', onClientGone)
    // A client that half-closes has left (as node:http treats it).
    socket.on('end', onClientGone)
    socket.on('error', onSocketError)
    socket.on('drain', onDrain)
    // An event-stream client sends nothing more while its stream is open;
    // whatever comes is dropped rather than buffered.
    socket.on('data', ignore)
  }

  /** Ends the response and gives the connection back to node:http for the client's next request. */
  private endDetached(socket: Socket, reuse: boolean): void {
    socket.off('close', onClientGone)
    socket.off('end', onClientGone)
    socket.off('error', onSocketError)
    socket.off('drain', onDrain)
    socket.off('data', ignore)
    // Handed back, the socket may carry another stream.
    streams.delete(socket)
    // Never a moment without an error listener: a reset while the last
    // bytes are queued would otherwise be uncaught and end the process.
    socket.on('error', destroyOnError)
    if (this.chunked) {
      socket.write(LAST_CHUNK)
      // node:http listens for errors from here on.
      if (reuse && returnHttpSocket(socket)) {
        socket.off('error', destroyOnError)
        return
      }
    }
    // Without chunks the body ends with the connection.
    socket.setTimeout(END_TIMEOUT_MS, () => socket.destroy())
    socket.end(() => socket.destroy())
  }

  get pending(): number {
    if (this.direct || !this.res) return this.socket?.writableLength ?? 0
    return (this.socket?.writableLength ?? 0) + this.res.writableLength
  }

  /**
   * Writes bytes without waiting for `drain`; a client whose backlog passes
   * the limit is cut off instead.
   * @returns false when the connection is (now) closed
   */
  writeRaw(chunk: Buffer | string): boolean {
    if (!this.direct && this.res) {
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

  protected override cork(): void {
    if (this.direct) this.socket?.cork()
  }

  protected override uncork(): void {
    if (this.direct) this.socket?.uncork()
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
    const cut = reason === 'slow-client' || reason === 'write-error'
    const { res, socket } = this
    if (res) {
      // The socket outlives the response on a keep-alive connection: the
      // next stream on it adds its own.
      if (this.direct) socket?.off('drain', onDrain)
      if (cut) res.destroy()
      else if (!res.writableEnded) res.end()
      return
    }
    if (!socket || socket.destroyed) return
    // A client that left (or half-closed) gets nothing more, and its
    // connection cannot carry another request.
    if (cut || reason === 'client-closed' || socket.readableEnded) {
      socket.destroy()
      return
    }
    // A closing server takes no next request: handed back, the connection
    // would hold its close() (Node 24 does not count it idle).
    this.endDetached(socket, reason !== 'server-shutdown')
  }
}
