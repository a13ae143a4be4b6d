import type { EventMap } from '@redisse/protocol'
import { createHttpTransport, type HttpPublisherOptions } from './createHttpTransport'
import { createRedisTransport, type RedisPublisherOptions } from './createRedisTransport'
import type { Publisher } from './types'

/** Options of {@link createPublisher}: Redis directly, or a server's HTTP API. */
export type PublisherOptions = RedisPublisherOptions | HttpPublisherOptions

/**
 * Creates a publisher. Over Redis each publish is one atomic script round
 * trip (sequence, history, PUBLISH); over HTTP it goes through a server's
 * `POST /publish`. Both validate names and payloads before sending anything.
 *
 * @example
 * ```ts
 * type Events = { message: { user: string; text: string } }
 * const pub = createPublisher<Events>({ redis: 'redis://localhost:6379' })
 * const id = await pub.publish('room:42', 'message', { user: 'ann', text: 'hi' })
 * ```
 */
export function createPublisher<Events extends EventMap = EventMap>(
  options: PublisherOptions,
): Publisher<Events> {
  return 'url' in options
    ? createHttpTransport<Events>(options)
    : createRedisTransport<Events>(options)
}
