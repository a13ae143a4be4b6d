import type { EventMap } from '@redisse/protocol'
import type { EventMeta } from './Client'
import type { ClientError } from './clientError'
import type { SharedOptions } from './createSharedClient'
import type { StandardSchemaV1 } from './StandardSchemaV1'
import type { EventSourceConstructor, Transport, WebSocketConstructor } from './Transport'

/** A value, or a function giving it (sync or async), evaluated on every connection attempt. */
export type Lazy<T> = T | (() => T | Promise<T>)

/** What `onAuthError` returns: a fresh token, or nothing to give up. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook may return nothing at all
export type FreshToken = string | undefined | void

/** Reconnection policy: exponential backoff with full jitter. */
export interface ReconnectOptions {
  /** Base delay, ms, until the server sends `retry:` (which then becomes the base). @defaultValue 1000 */
  delay?: number
  /** Largest delay, ms. @defaultValue 30000 */
  maxDelay?: number
  /** Consecutive failed attempts before giving up (state `closed`, reason `max-attempts`). @defaultValue Infinity */
  maxAttempts?: number
  /**
   * Reconnect when no byte (event or keep-alive comment) arrived for
   * `stallFactor × keepAlive` ms; `0` turns the watchdog off. Native
   * EventSource hides comments, so the watchdog runs on `fetch` and `poll` only.
   * @defaultValue 3
   */
  stallFactor?: number
}

/** Why a payload was not delivered to listeners. */
export interface DecodeError {
  /** `invalid-json`: data is not JSON; `invalid-data`: a decoder rejected it. */
  code: 'invalid-json' | 'invalid-data'
  meta: EventMeta
  /** The data text as received. */
  data: string
  /** The decoder's issues (`invalid-data`). */
  issues?: ReadonlyArray<StandardSchemaV1.Issue>
  /** The JSON parse error (`invalid-json`), or what an async decoder threw. */
  error?: unknown
}

/** Per-type decoders (Standard Schema: zod, valibot, arktype…). */
export type Decoders<Events extends EventMap> = {
  [Type in keyof Events]?: StandardSchemaV1<unknown, Events[Type]>
}

/** Options shared by both `createClient` entries. */
export interface BaseClientOptions<Events extends EventMap = EventMap> {
  /** Access token (token mode): `Authorization: Bearer`, or `access_token` on native EventSource and WebSocket. */
  token?: Lazy<string | undefined>
  /** Extra request headers; forces a transport that can send them (`fetch`, `poll`). */
  headers?: Lazy<Record<string, string>>
  /** Send cookies on cross-origin requests. @defaultValue false */
  withCredentials?: boolean
  /** Resume from this event id on the first connection. */
  lastEventId?: string
  /** Reconnection policy; `false` never reconnects. */
  reconnect?: ReconnectOptions | false
  /** The server's keep-alive interval, ms, for the stall watchdog. @defaultValue 15000 */
  keepAlive?: number
  /** Closes the client when aborted. */
  signal?: AbortSignal
  /** Decode `data` as JSON (the Redisse wire format); `false` hands listeners the text. @defaultValue true */
  json?: boolean
  /** Validators per event type; failures go to `onDecodeError`, never to listeners. */
  decoders?: Decoders<Events>
  /** Called for events that could not be decoded or validated. */
  onDecodeError?: (error: DecodeError) => void
  /**
   * Called on 401/403; return a fresh token to reconnect with it, or nothing
   * to close the client (reason `unauthorized` / `forbidden`).
   */
  onAuthError?: (error: ClientError) => FreshToken | Promise<FreshToken>
  /** `fetch` implementation (tests, custom agents). @defaultValue globalThis.fetch */
  fetch?: typeof fetch
  /** `EventSource` constructor (Node: the `eventsource` package). @defaultValue globalThis.EventSource */
  EventSource?: EventSourceConstructor
  /** `WebSocket` constructor (Node 20: the `ws` package's). @defaultValue globalThis.WebSocket */
  WebSocket?: WebSocketConstructor
  /** `poll` transport: long-poll URL. @defaultValue the stream URL with `/poll` appended to its path */
  pollUrl?: string | URL
  /** `poll` transport: abort a poll after this many ms. @defaultValue 40000 */
  pollTimeout?: number
}

/** Options of `createClient` from `@redisse/client/core`: transports passed as objects (tree-shakeable). */
export interface CoreClientOptions<Events extends EventMap = EventMap>
  extends BaseClientOptions<Events> {
  /** The transport, or a list tried in order by availability (auto). */
  transport: Transport | readonly Transport[]
}

/** Names of the built-in transports; `auto` picks eventsource, else fetch, else poll (never websocket). */
export type TransportName = 'auto' | 'eventsource' | 'fetch' | 'poll' | 'websocket'

/** Options of `createClient` from `@redisse/client`. */
export interface ClientOptions<Events extends EventMap = EventMap>
  extends BaseClientOptions<Events> {
  /** Transport by name, or transport objects. @defaultValue 'auto' */
  transport?: TransportName | Transport | readonly Transport[]
  /**
   * One connection per browser instead of per tab: the tabs elect a leader
   * that holds the stream and relays it (BroadcastChannel; Web Locks when
   * available). Without BroadcastChannel, a connection of its own.
   * @defaultValue false
   */
  shared?: boolean | SharedOptions
}
