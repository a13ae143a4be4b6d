import { defineEvents } from '@redisse/protocol'
import type { Cluster, Redis } from 'ioredis'
import { describe, expectTypeOf, it } from 'vitest'
import { createPublisher } from './createPublisher'
import type { BatchEvent, Publisher } from './Publisher'

type Events = { message: { user: string; text: string }; typing: { user: string } }

// Type tests never run: the options only have to type-check.
const redisUrl = 'redis://127.0.0.1:1'

describe('createPublisher<Events>', () => {
  const pub = createPublisher<Events>({ redis: redisUrl })

  it('accepts a declared type with its payload and returns the event id', () => {
    expectTypeOf(pub).toEqualTypeOf<Publisher<Events>>()
    expectTypeOf(pub.publish('room:1', 'message', { user: 'a', text: 'b' })).toEqualTypeOf<
      Promise<string>
    >()
    expectTypeOf(
      pub.publish('room:1', 'typing', { user: 'a' }, { idempotencyKey: 'k' }),
    ).resolves.toBeString()
  })

  it('rejects an undeclared type, another type’s payload, and a missing field', () => {
    // @ts-expect-error 'nope' is not a key of Events
    void pub.publish('room:1', 'nope', { user: 'a' })
    // @ts-expect-error a plain string is not a declared type
    void pub.publish('room:1', 'message' as string, { user: 'a', text: 'b' })
    // @ts-expect-error the payload of 'typing' has no text
    void pub.publish('room:1', 'typing', { user: 'a', text: 'b' })
    // @ts-expect-error text is missing
    void pub.publish('room:1', 'message', { user: 'a' })
    // @ts-expect-error text must be a string
    void pub.publish('room:1', 'message', { user: 'a', text: 1 })
    // @ts-expect-error idempotencyKey is a string
    void pub.publish('room:1', 'typing', { user: 'a' }, { idempotencyKey: 1 })
  })

  it('checks each batch event’s payload against its own type', () => {
    expectTypeOf(
      pub.publishMany([
        { channel: 'a', type: 'message', data: { user: 'u', text: 't' } },
        { channel: 'a', type: 'typing', data: { user: 'u' }, idempotencyKey: 'k' },
      ]),
    ).toEqualTypeOf<Promise<string[]>>()
    void pub.publishMany([
      // @ts-expect-error the payload of 'message' needs text
      { channel: 'a', type: 'message', data: { user: 'u' } },
    ])
    // @ts-expect-error 'nope' is not a key of Events
    void pub.publishMany([{ channel: 'a', type: 'nope', data: { user: 'u' } }])
    expectTypeOf<BatchEvent<Events>>().toEqualTypeOf<
      | {
          channel: string
          type: 'message'
          data: Events['message']
          idempotencyKey?: string | undefined
        }
      | {
          channel: string
          type: 'typing'
          data: Events['typing']
          idempotencyKey?: string | undefined
        }
    >()
  })

  it('types subjects', () => {
    const user = pub.subject('42')
    expectTypeOf(user.generateToken()).toEqualTypeOf<Promise<string>>()
    expectTypeOf(user.generateToken({ ttl: 60_000 })).toEqualTypeOf<Promise<string>>()
    expectTypeOf(user.addChannel('room:1')).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf(user.removeChannel('room:1')).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf(user.channels()).toEqualTypeOf<Promise<string[]>>()
    expectTypeOf(user.clear()).toEqualTypeOf<Promise<void>>()
    expectTypeOf(pub.close()).toEqualTypeOf<Promise<void>>()
  })

  it('takes the Events map from defineEvents too', () => {
    const events = defineEvents<{ ping: { at: number } }>()
    const typed = createPublisher<typeof events>({ url: 'http://localhost:4242', key: 'k' })
    void typed.publish('c', 'ping', { at: 1 })
    // @ts-expect-error at is a number
    void typed.publish('c', 'ping', { at: '1' })
  })
})

describe('createPublisher without an Events map', () => {
  it('accepts any string type and any payload', () => {
    const pub = createPublisher({ url: 'http://localhost:4242', key: 'k' })
    expectTypeOf(pub.publish('room', 'anything', { any: 1 })).toEqualTypeOf<Promise<string>>()
    expectTypeOf(pub.publish).parameter(1).toEqualTypeOf<string>()
    expectTypeOf(pub.publish).parameter(2).toEqualTypeOf<unknown>()
    void pub.publishMany([
      { channel: 'a', type: 'x', data: 1 },
      { channel: 'b', type: 'y', data: null },
    ])
  })
})

describe('PublisherOptions', () => {
  it('takes a redis URL or an ioredis instance, or url and key', () => {
    const instance = {} as Redis
    createPublisher({ redis: instance, prefix: 'app:', history: false, publishTimeout: 300 })
    createPublisher({ redis: redisUrl, history: { size: 10, ttl: 60_000 }, maxQueued: 5 })
    createPublisher({ url: 'http://localhost:4242', key: 'k', fetch, timeout: 1000 })
    // @ts-expect-error the HTTP transport needs the publish key
    createPublisher({ url: 'http://localhost:4242' })
    // @ts-expect-error history needs both size and ttl
    createPublisher({ redis: redisUrl, history: { size: 10 } })
    // @ts-expect-error one of redis or url is required
    createPublisher({ prefix: 'app:' })
  })

  it('takes Redis Cluster node URLs with ioredis ClusterOptions, or a Cluster instance', () => {
    const cluster = {} as Cluster
    createPublisher({ redis: { cluster: [redisUrl], partitions: 8, maxRedirections: 32 } })
    createPublisher({ redis: { cluster: [redisUrl], redisOptions: { password: 'p' } } })
    createPublisher({ redis: cluster, prefix: 'app:' })
    createPublisher({ redis: { cluster, partitions: 4 } })
    // @ts-expect-error the cluster is a list of URLs, not one
    createPublisher({ redis: { cluster: redisUrl } })
    // @ts-expect-error partitions is a number
    createPublisher({ redis: { cluster: [redisUrl], partitions: '8' } })
  })
})
