/**
 * The tree-shakeable entry of the Redisse client: `createClient` takes
 * transport objects, so a bundle holds only the transports it imports (the
 * native EventSource one needs no SSE parser).
 *
 * @example
 * ```ts
 * import { createClient, eventSourceTransport } from '@redisse/client/core'
 *
 * const client = createClient<ChatEvents>('/events', { transport: eventSourceTransport })
 * client.on('message', (msg) => render(msg))
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
  CoreClientOptions,
  DecodeError,
  Decoders,
  FreshToken,
  Lazy,
  ReconnectOptions,
} from './ClientOptions'
export type { ClientError } from './clientError'
export { createBaseClient as createClient } from './createBaseClient'
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
