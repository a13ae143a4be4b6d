import {
  type Envelope,
  encodeEnvelope,
  encodeEnvelopeFrame,
  formatEventId,
} from '@redisse/protocol'

/** Frames bytes as one chunk of `Transfer-Encoding: chunked`. */
export function toHttpChunk(bytes: Buffer): Buffer {
  const head = `${bytes.length.toString(16)}\r\n`
  const chunk = Buffer.allocUnsafe(head.length + bytes.length + 2)
  chunk.write(head, 0, 'latin1')
  bytes.copy(chunk, head.length)
  chunk[chunk.length - 2] = 13
  chunk[chunk.length - 1] = 10
  return chunk
}

/**
 * Encodes text as one chunk of `Transfer-Encoding: chunked` in a single
 * allocation, its frame without the chunk framing at `frame`.
 */
function textChunk(text: string): { chunk: Buffer; frame: Buffer } {
  const size = Buffer.byteLength(text, 'utf8')
  const head = `${size.toString(16)}\r\n`
  const chunk = Buffer.allocUnsafe(head.length + size + 2)
  chunk.write(head, 0, 'latin1')
  chunk.write(text, head.length, 'utf8')
  chunk[chunk.length - 2] = 13
  chunk[chunk.length - 1] = 10
  return { chunk, frame: chunk.subarray(head.length, head.length + size) }
}

/**
 * One bus event on its way to local connections. Each transport's encoding
 * is made once, on first use, and shared by every connection of that
 * transport: SSE connections all write the same Buffer, WebSocket and poll
 * connections the same JSON text.
 */
export class OutgoingEvent {
  private sseBytes: Buffer | undefined
  private sseChunkBytes: Buffer | undefined
  private jsonText: string | undefined
  private jsonBytes: Buffer | undefined
  /** The last {@link withCursor} answer. */
  private recut: OutgoingEvent | undefined

  constructor(
    readonly envelope: Envelope,
    /** Sequence from the cursor, for ordering and de-duplication. */
    readonly seq: number,
    private readonly channelAsEvent: boolean,
  ) {}

  /** The SSE frame bytes. */
  get sse(): Buffer {
    if (this.sseBytes === undefined) this.encodeSse()
    return this.sseBytes as Buffer
  }

  /**
   * The SSE frame as one HTTP/1.1 chunk (`<size>\r\n<frame>\r\n`), so a
   * chunked stream writes the same single Buffer to every socket.
   */
  get sseChunk(): Buffer {
    if (this.sseChunkBytes === undefined) this.encodeSse()
    return this.sseChunkBytes as Buffer
  }

  // Both come from one allocation: the frame is the chunk less its framing.
  private encodeSse(): void {
    const { chunk, frame } = textChunk(
      encodeEnvelope(this.envelope, { channelAsEvent: this.channelAsEvent }),
    )
    this.sseChunkBytes = chunk
    this.sseBytes = frame
  }

  /** The JSON frame (`{ id, type, channel, data }`) of WebSocket and poll. */
  get json(): string {
    this.jsonText ??= encodeEnvelopeFrame(this.envelope, { channelAsEvent: this.channelAsEvent })
    return this.jsonText
  }

  /** The JSON frame as UTF-8 bytes, sent as a text frame to every WebSocket connection. */
  get wsBytes(): Buffer {
    this.jsonBytes ??= Buffer.from(this.json, 'utf8')
    return this.jsonBytes
  }

  /**
   * The same event under another cursor: a stream over several partitions
   * names its position in every one of them in each id, so its frames are
   * its own (the sequence stays the partition's).
   */
  withCursor(cursor: string): OutgoingEvent {
    // Streams that stand at the same place (every stream of one partition
    // the event reaches, most often) share one encoding.
    if (this.recut?.envelope.id !== cursor) {
      this.recut = new OutgoingEvent(
        { ...this.envelope, id: cursor },
        this.seq,
        this.channelAsEvent,
      )
    }
    return this.recut
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
