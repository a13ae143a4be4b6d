/**
 * What the client hands a transport for one connection attempt. Factories
 * (`url`, `headers`, `token`) are already evaluated for this attempt.
 */
export interface TransportRequest {
  /** The stream URL (the SSE endpoint, `GET /` of the server). */
  url: URL
  /** Extra request headers (transports that cannot send headers never get any). */
  headers: Record<string, string> | undefined
  /** Access token: `Authorization: Bearer` where the transport can send headers, else `access_token`. */
  token: string | undefined
  /** Resume point: `Last-Event-ID` header or `lastEventId` query parameter. */
  lastEventId: string | undefined
  /** Send cookies cross-origin. */
  withCredentials: boolean
  /** Aborted when the client gives this connection up. */
  signal: AbortSignal
  /** `fetch` to use (option `fetch`, else the global one). */
  fetch: typeof fetch | undefined
  /** `EventSource` constructor to use (option `EventSource`, else the global one). */
  EventSource: EventSourceConstructor | undefined
  /** Option `WebSocket` (transports fall back to the global one themselves). */
  WebSocket: WebSocketConstructor | undefined
}

/** The constructor of a WHATWG `EventSource` (the browser's, or the npm `eventsource` package's). */
export type EventSourceConstructor = new (
  url: string | URL,
  init?: { withCredentials?: boolean },
) => EventSource

// Handler properties are bivariant (method syntax) so the `ws` package's
// class, whose event types are richer than these, fits without a cast.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'] | null

/**
 * The part of a WHATWG `WebSocket` the client uses: the browser's, or the npm
 * `ws` package's in Node.
 */
export interface WebSocketLike {
  onopen: Handler<unknown>
  onmessage: Handler<{ data: unknown }>
  onerror: Handler<unknown>
  onclose: Handler<{ code: number; reason: string }>
  close(code?: number, reason?: string): void
}

/** The constructor of a WHATWG `WebSocket` (the browser's, or the npm `ws` package's). */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/**
 * How a connection ended, as a transport reports it once:
 * - `ended`: the body ended or broke after the connection opened;
 * - `failed`: the connection could not be opened (network error, or an
 *   HTTP answer other than a 200 event stream; `status` when known);
 * - `stopped`: the server asked the client to stop (HTTP 204);
 * - `invalid`: a 200 answer that is not an event stream (wrong content type);
 * - `too-large`: an event or line beyond the parser's bound.
 */
export type TransportOutcome =
  | { kind: 'ended'; error?: unknown }
  | { kind: 'failed'; status?: number | undefined; retryAfter?: number | undefined; error: unknown }
  | { kind: 'stopped' }
  | { kind: 'invalid'; error: unknown }
  | { kind: 'too-large'; error: unknown }

/** Callbacks a transport calls while a connection lives. */
export interface TransportHandlers {
  /** The server accepted the connection (a 200 event stream, or the first poll answer). */
  open(): void
  /** The last event id buffer changed (`id:` field, even on a block without data). */
  id(id: string): void
  /** One event: its type (`message` by default) and its data text, or its already-decoded value. */
  event(type: string, data: string, value?: { value: unknown }): void
  /** The server's `retry:` field, ms. */
  retry(ms: number): void
  /** Bytes arrived (events or keep-alive comments): feeds the stall watchdog. */
  activity(): void
  /**
   * The connection broke and the transport reconnects by itself (a native
   * EventSource in state CONNECTING); `open` comes again when it is back.
   */
  lost(error: unknown): void
  /** The connection is over; called at most once, never after the signal aborted. */
  close(outcome: TransportOutcome): void
}

/** A live connection of a transport. */
export interface TransportConnection {
  /**
   * The client now listens to `type` (native EventSource needs one listener
   * per type). `''` may come too (the client's own state key): ignore it.
   */
  listen?(type: string): void
}

/**
 * One way of reaching the server. The client owns reconnection: a transport
 * opens ONE connection per `open` call and reports how it ended.
 */
export interface Transport {
  readonly name: string
  /** Whether this transport can serve the client here (used by `auto`). */
  available(env: TransportEnvironment): boolean
  /** Whether the stall watchdog can see this transport's bytes (keep-alive comments). */
  readonly seesKeepAlive: boolean
  open(request: TransportRequest, handlers: TransportHandlers): TransportConnection
}

/** What `available` looks at. */
export interface TransportEnvironment {
  /** The client sends custom headers (option `headers`). */
  needsHeaders: boolean
  fetch: typeof fetch | undefined
  EventSource: EventSourceConstructor | undefined
  WebSocket: WebSocketConstructor | undefined
}
