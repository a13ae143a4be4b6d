import { type EventFrame, epochOf, parseEventId } from '@redisse/protocol'
import { Connection, type ConnectionHost } from './Connection'
import type { OutgoingEvent } from './OutgoingEvent'
import type { PartitionPositions } from './PartitionPositions'
import type { CloseReason, Transport } from './PushHandler'

/**
 * The part of a stream that hears one partition: a connection of that
 * partition's hub (its own sequence, replay, recovery and resets, exactly
 * as on a log of one partition) that writes through the stream it belongs
 * to, every event under the stream's combined cursor.
 */
export class Lane extends Connection {
  readonly transport: Transport

  constructor(
    readonly outer: Connection,
    readonly partition: number,
    private readonly positions: PartitionPositions,
    host: ConnectionHost,
  ) {
    super(undefined, host)
    this.transport = outer.transport
  }

  get pending(): number {
    return this.outer.pending
  }

  protected writeEvent(event: OutgoingEvent): boolean {
    if (this.outer.closed) return false
    this.positions.advance(this.partition, epochOf(event.envelope), event.seq)
    return this.outer.writeOut(event.withCursor(this.positions.format()))
  }

  protected writeFrame(frame: EventFrame): boolean {
    if (this.outer.closed) return false
    if (frame.id === undefined) return this.outer.writeFrameOut(frame)
    // A reset names where this partition restarts; the other partitions stay put.
    const parsed = parseEventId(frame.id)
    if (parsed) this.positions.place(this.partition, parsed.cursor.epoch, parsed.cursor.seq)
    return this.outer.writeFrameOut({ ...frame, id: this.positions.format() })
  }

  /** The stream itself is swept. */
  heartbeat(): void {}

  protected end(reason: CloseReason): void {
    if (!this.outer.closed) this.outer.close(reason)
  }

  protected override cork(): void {
    this.outer.corkOut()
  }

  protected override uncork(): void {
    this.outer.uncorkOut()
  }

  override get wantsReplay(): boolean {
    return !this.closed && this.outer.wantsReplay
  }

  override async waitWritable(lowWater: number, stallMs: number): Promise<boolean> {
    return (await this.outer.waitWritable(lowWater, stallMs)) && !this.closed
  }
}
