/**
 * Redisse server: Server-Sent Events (or WebSocket, or long polling) over
 * one connection per client, many channels per connection, Redis (or an
 * embedded broker) as the bus, and push-handler callbacks on every connection.
 *
 * @example
 * ```ts
 * import { createServer } from '@redisse/server'
 *
 * const server = createServer({
 *   redis: process.env.REDIS_URL, // absent: embedded in-process broker
 *   channels: (req) => ['global'],
 * })
 * await server.listen(4242)
 * ```
 * @module
 */

export type { ErrorCode } from '@redisse/protocol'
export { RedisseError } from '@redisse/protocol'
export type { PinoLikeLogger } from './adaptLogger'
export type {
  Broker,
  BrokerState,
  HistoryPage,
  HistoryPageRequest,
  LogHead,
  PublishRequest,
  SubjectEdit,
  SubjectStore,
  TokenGrant,
} from './broker/Broker'
export { createEmbeddedBroker } from './broker/createEmbeddedBroker'
export type { RedisBrokerOptions } from './broker/createRedisBroker'
export { createRedisBroker } from './broker/createRedisBroker'
export type { CorsOptions } from './cors'
export type { Logger, LogLevel } from './createLogger'
export { createLogger } from './createLogger'
export type { RedisseServer, RequestHandler } from './createServer'
export { createServer } from './createServer'
export { defineConfig } from './defineConfig'
export type { ServerStats } from './handleStatus'
export type {
  ChannelsCallback,
  Limits,
  PublicChannels,
  ServerOptions,
  WebSocketSettings,
} from './options'
export type { PollSettings } from './PollConnection'
export type { CloseReason, PushConnection, PushHandler, Transport } from './PushHandler'
export type { PromRegistry } from './registerPromMetrics'
export type { AmqpOptions } from './startAmqpIngest'
