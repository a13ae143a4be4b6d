/**
 * The Redisse client for browsers and Node: typed listeners per event type,
 * reconnection with backoff and jitter, resume by `Last-Event-ID`, and
 * transports for every network (native EventSource, fetch streaming, long
 * polling).
 *
 * @example
 * ```ts
 * import { createClient } from '@redisse/client'
 *
 * type ChatEvents = { message: { user: string; text: string } }
 * const client = createClient<ChatEvents>('https://push.example.com/', { token })
 * client.on('message', (msg, meta) => console.log(meta.channel, msg.user, msg.text))
 * client.onState((state, info) => console.log(state, info.reason))
 * ```
 * @module
 */

export type { EventMap, ResetEventData } from '@redisse/protocol'
export { defineEvents, isRedisseError } from '@redisse/protocol'
export type {
  Client,
  ClientEvent,
  ClientState,
  EventMeta,
  EventsOptions,
  Listener,
  StateInfo,
  StateReason,
} from './Client'
export type {
  BaseClientOptions,
  ClientOptions,
  CoreClientOptions,
  DecodeError,
  Decoders,
  FreshToken,
  Lazy,
  ReconnectOptions,
  TransportName,
} from './ClientOptions'
export type { ClientError } from './clientError'
export { createClient } from './createClient'
export type { SharedClientOptions, SharedOptions } from './createSharedClient'
export { createSharedClient } from './createSharedClient'
export type { ElectionTiming, LockManagerLike } from './electLeader'
export { eventSourceTransport } from './eventSourceTransport'
export { fetchTransport } from './fetchTransport'
export { createPollTransport, pollTransport } from './pollTransport'
export type { StandardSchemaV1 } from './StandardSchemaV1'
export type {
  EventSourceConstructor,
  Transport,
  TransportConnection,
  TransportEnvironment,
  TransportHandlers,
  TransportOutcome,
  TransportRequest,
  WebSocketConstructor,
  WebSocketLike,
} from './Transport'
export { websocketTransport } from './websocketTransport'
