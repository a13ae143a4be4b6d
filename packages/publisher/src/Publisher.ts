import type { EventMap } from '@redisse/protocol'
import type { Subject } from './Subject'

/** Options of one {@link Publisher.publish}. */
export interface PublishOptions {
  /**
   * Makes retries safe: a publish whose key was already used (in the last
   * 24 h, on the same Redis) is not appended again and returns the first id.
   * On Redis Cluster keys are kept per partition of the channel.
   * 1 to 200 printable ASCII characters, e.g. `order-7:shipped`.
   */
  idempotencyKey?: string | undefined
}

/**
 * One event of {@link Publisher.publishMany}. With an `Events` map, `type`
 * and `data` are checked together: `data` must be the payload of that `type`.
 */
export type BatchEvent<Events extends EventMap = EventMap> = {
  [T in keyof Events & string]: {
    channel: string
    type: T
    data: Events[T]
    idempotencyKey?: string | undefined
  }
}[keyof Events & string]

/**
 * Publishes events and manages subjects, typed by the app's {@link EventMap}.
 * Created by `createPublisher`, over Redis or a Redisse server's HTTP API.
 */
export interface Publisher<Events extends EventMap = EventMap> {
  /**
   * Publishes one event. Channel, type and payload are validated before
   * anything is sent.
   * @param channel - channel name, e.g. `room:42`
   * @param type - event type, a key of `Events` (never `redisse:…`)
   * @param data - payload of that type; sent as `JSON.stringify(data)`
   * @returns the event id `epoch-seq@channel`, exactly as clients see it
   * @throws RedisseError `invalid-channel`, `invalid-event-type`,
   *   `reserved-event-type`, `invalid-payload`, `payload-too-large`,
   *   `publish-timeout`, `broker-unavailable`, `publish-failed`, `closed`,
   *   `partitions-mismatch`, `partitions-record-invalid` (Redis Cluster)
   * @example
   * ```ts
   * const id = await pub.publish('room:42', 'message', { user: 'ann', text: 'hi' })
   * ```
   */
  publish<T extends keyof Events & string>(
    channel: string,
    type: T,
    data: Events[T],
    options?: PublishOptions,
  ): Promise<string>
  /**
   * Publishes several events, in order, in one round trip. The whole batch is
   * validated before anything is sent. Over Redis the batch is one MULTI
   * transaction: its events get consecutive sequence numbers. On Redis
   * Cluster it is one transaction per partition the batch touches.
   * @returns the event ids, in the order given
   */
  publishMany(events: ReadonlyArray<BatchEvent<Events>>): Promise<string[]>
  /**
   * Token and channel-list management of one subject (a user, a device…).
   * @param id - 1 to 200 printable ASCII characters without spaces
   * @throws RedisseError `invalid-subject` for an invalid id
   */
  subject(id: string): Subject
  /**
   * Closes the Redis connection the publisher opened (an ioredis instance
   * passed in is left open). Publishes still waiting for Redis fail with
   * `closed`; later calls fail with `closed`.
   */
  close(): Promise<void>
}
