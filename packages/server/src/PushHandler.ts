/** How a connection reaches the server. */
export type Transport = 'sse' | 'websocket' | 'poll'

/** Why a connection ended, as logged, counted and passed to `push.onClose`. */
export type CloseReason =
  | 'client-closed'
  | 'slow-client'
  | 'channels-revoked'
  /** Token mode: the stream's token was revoked (`subject.revokeToken`). */
  | 'token-revoked'
  /** Token mode: the stream's token reached the end of its ttl. */
  | 'token-expired'
  | 'server-shutdown'
  | 'write-error'
  /** A long poll sent its answer. */
  | 'answered'
  /** The app called `conn.close()`. */
  | 'app-closed'
  /** The client broke the protocol (WebSocket: an unwanted, oversized or non-text message). */
  | 'protocol-error'
  /** Redis did not answer the stream's first reads or SUBSCRIBE in time: the client reconnects and resumes. */
  | 'broker-unavailable'

/**
 * One open connection, as the push handler sees it: the same object for
 * SSE, WebSocket and long-poll clients.
 */
export interface PushConnection {
  /** Unique on this node. */
  readonly id: number
  readonly transport: Transport
  /** Channels it hears now (live edits and `subscribe` included). */
  readonly channels: ReadonlySet<string>
  /** The token's subject, in token mode. */
  readonly subject: string | undefined
  /** Bytes written but not yet taken by the network (a poll: bytes of its pending answer). */
  readonly pending: number
  /** True once closed; writes are then ignored. */
  readonly closed: boolean
  /**
   * Sends an event to this connection only, with no id (it is not in
   * history and does not move the client's cursor).
   * @returns false when the connection is closed (or was just closed as a slow client)
   * @throws RedisseError `invalid-event-type` / `reserved-event-type` for a bad type
   */
  write(type: string, data: unknown): boolean
  /**
   * Adds a channel to this connection (subscribed on the bus when needed).
   * @throws RedisseError `invalid-channel`, or `too-many-channels` past `limits.channelsPerConnection`
   */
  subscribe(channel: string): Promise<void>
  /** Stops hearing a channel. */
  unsubscribe(channel: string): void
  /** Ends the connection (WebSocket close code 1000; a poll answers with what it has). */
  close(): void
}

/**
 * App callbacks for every connection, the Rack push proposal in Node (Agoo,
 * Iodine). All optional. SSE and poll connections get every callback except
 * `onMessage`; a poll connection lives for one request. A callback that
 * throws, or returns a promise that rejects, is logged as an error and
 * changes nothing else.
 */
export interface PushHandler {
  /** The connection is open, its replay sent and its channels live. */
  onOpen?(conn: PushConnection): void
  /** A text message from a WebSocket client (without this hook, client messages close the socket with 1003). */
  onMessage?(conn: PushConnection, data: string): void
  /** The connection ended. */
  onClose?(conn: PushConnection, reason: CloseReason): void
  /** The backlog that built up (`pending` > 0 after a write the network could not take at once) is written out. */
  onDrained?(conn: PushConnection): void
  /**
   * The server is closing: last words before the connection ends. The server
   * waits for every returned promise, at most `push.shutdownTimeout` ms.
   */
  onShutdown?(conn: PushConnection): void | Promise<void>
  /** Longest wait for `onShutdown` callbacks, ms. @defaultValue 2000 */
  shutdownTimeout?: number
}
