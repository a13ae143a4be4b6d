/**
 * Publish Redisse events from a backend, and manage who hears what (tokens
 * and live channel lists), over Redis or a Redisse server's HTTP API.
 *
 * @example
 * ```ts
 * import { createPublisher } from '@redisse/publisher'
 *
 * type Events = { message: { user: string; text: string } }
 *
 * const pub = createPublisher<Events>({ redis: process.env.REDIS_URL ?? 'redis://localhost:6379' })
 * const id = await pub.publish('room:42', 'message', { user: 'ann', text: 'hi' })
 *
 * const ann = pub.subject('ann')
 * const token = await ann.generateToken({ ttl: 3_600_000 }) // hand it to ann's browser
 * await ann.addChannel('room:42')
 * await pub.close()
 * ```
 * @module
 */

export type { ErrorCode, EventMap } from '@redisse/protocol'
export { defineEvents, isRedisseError, RedisseError } from '@redisse/protocol'
export type { HttpPublisherOptions } from './createHttpTransport'
export type { PublisherOptions } from './createPublisher'
export { createPublisher } from './createPublisher'
export type { RedisPublisherOptions } from './createRedisTransport'
export type { RedisClusterOptions } from './openCluster'
export type { BatchEvent, Publisher, PublishOptions } from './Publisher'
export type { GenerateTokenOptions, Subject } from './Subject'
