import {
  type Envelope,
  encodeEnvelope,
  encodeEnvelopeFrame,
  formatEventId,
} from '@redisse/protocol'

/**
 * One bus event on its way to local connections. Each transport's encoding
 * is made once, on first use, and shared by every connection of that
 * transport: SSE connections all write the same Buffer, WebSocket and poll
 * connections the same JSON text.
 */
export class OutgoingEvent {
  private sseBytes: Buffer | undefined
  private jsonText: string | undefined

  constructor(
    readonly envelope: Envelope,
    /** Sequence from the cursor, for ordering and de-duplication. */
    readonly seq: number,
    private readonly channelAsEvent: boolean,
  ) {}

  /** The SSE frame bytes. */
  get sse(): Buffer {
    this.sseBytes ??= Buffer.from(
      encodeEnvelope(this.envelope, { channelAsEvent: this.channelAsEvent }),
      'utf8',
    )
    return this.sseBytes
  }

  /** The JSON frame (`{ id, type, channel, data }`) of WebSocket and poll. */
  get json(): string {
    this.jsonText ??= encodeEnvelopeFrame(this.envelope, { channelAsEvent: this.channelAsEvent })
    return this.jsonText
  }

  /** The event id `<cursor>@<channel>`. */
  get id(): string {
    return formatEventId(this.envelope.id, this.envelope.channel)
  }

  /** Bytes it holds in memory, near enough for buffer limits whatever the transport. */
  get size(): number {
    return this.envelope.data.length + this.envelope.channel.length + this.envelope.type.length + 48
  }
}
