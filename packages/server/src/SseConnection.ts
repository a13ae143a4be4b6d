import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type EventFrame, encodeComment, encodeEvent } from '@redisse/protocol'
import { Connection, type ConnectionHost } from './Connection'
import type { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

const HEARTBEAT = Buffer.from(encodeComment(''), 'utf8')

/** One open event stream over a `ServerResponse`. */
export class SseConnection extends Connection {
  readonly transport = 'sse'
  private readonly socket: Socket | null
  private awaitingDrain = false

  constructor(
    readonly res: ServerResponse,
    subject: string | undefined,
    host: ConnectionHost,
  ) {
    super(subject, host)
    this.socket = res.socket
    res.on('close', () => this.close('client-closed'))
    res.on('error', () => this.close('write-error'))
    res.on('drain', () => {
      if (!this.awaitingDrain || this.closed) return
      this.awaitingDrain = false
      this.host.drained(this)
    })
  }

  get pending(): number {
    return (this.socket?.writableLength ?? 0) + this.res.writableLength
  }

  /**
   * Writes bytes without waiting for `drain`; a client whose backlog passes
   * the limit is cut off instead.
   * @returns false when the connection is (now) closed
   */
  writeRaw(chunk: Buffer | string): boolean {
    if (!this.canWrite()) return false
    if (!this.res.write(chunk)) this.awaitingDrain = true
    return true
  }

  protected writeEvent(event: OutgoingEvent): boolean {
    return this.writeRaw(event.sse)
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
    this.writeRaw(HEARTBEAT)
  }

  protected end(reason: CloseReason): void {
    if (reason === 'slow-client' || reason === 'write-error') this.res.destroy()
    else if (!this.res.writableEnded) this.res.end()
  }
}
