import { type EventMap, RedisseError } from '@redisse/protocol'
import type { Redis, RedisOptions } from 'ioredis'
import { createClusterTransport } from './createClusterTransport'
import { createHttpTransport, type HttpPublisherOptions } from './createHttpTransport'
import { createRedisTransport, type RedisPublisherOptions } from './createRedisTransport'
import { isClusterOption } from './openCluster'
import type { Publisher } from './Publisher'

/**
 * Options of {@link createPublisher}: `{ redis }` to talk to Redis directly,
 * or `{ url, key }` to go through a Redisse server's HTTP API.
 */
export type PublisherOptions = RedisPublisherOptions | HttpPublisherOptions

/**
 * Creates a publisher. Over Redis, each publish is one atomic round trip
 * (sequence, history and PUBLISH in one script); over HTTP it is one
 * `POST /publish` to a Redisse server. Both validate the channel, the type
 * and the payload before sending anything.
 *
 * @typeParam Events - map of event type to payload, shared with the client;
 *   without it any type name and payload are accepted
 * @throws RedisseError `invalid-option` for invalid options (nothing is opened then)
 * @example
 * ```ts
 * type Events = { message: { user: string; text: string } }
 * const pub = createPublisher<Events>({ redis: 'redis://localhost:6379' })
 * const id = await pub.publish('room:42', 'message', { user: 'ann', text: 'hi' })
 * await pub.close()
 * ```
 * @example
 * ```ts
 * const pub = createPublisher<Events>({ url: 'http://localhost:4242', key: process.env.PUBLISH_KEY! })
 * ```
 * @example
 * ```ts
 * // Redis Cluster: channels spread over 16 partitions, one slot per publish
 * const pub = createPublisher<Events>({ redis: { cluster: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] } })
 * ```
 */
export function createPublisher<Events extends EventMap = EventMap>(
  options: PublisherOptions,
): Publisher<Events> {
  const given = (options ?? {}) as Partial<RedisPublisherOptions & HttpPublisherOptions>
  if (given.redis !== undefined && given.url !== undefined) {
    throw new RedisseError(
      'invalid-option',
      'pass either redis (to publish through Redis) or url and key (through a server), not both',
    )
  }
  if (given.url !== undefined) return createHttpTransport<Events>(options as HttpPublisherOptions)
  if (given.redis !== undefined && isClusterOption(given.redis)) {
    return createClusterTransport<Events>({ ...given, redis: given.redis })
  }
  if (given.redis !== undefined) {
    return createRedisTransport<Events>(
      options as RedisPublisherOptions & { redis: string | Redis | RedisOptions },
    )
  }
  throw new RedisseError(
    'invalid-option',
    'pass redis (a redis:// URL or an ioredis instance), or url and key of a Redisse server',
  )
}
