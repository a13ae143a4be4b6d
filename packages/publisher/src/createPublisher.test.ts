import { describe, expect, it } from 'vitest'
import { createPublisher, type PublisherOptions } from './createPublisher'

// Nothing listens there; invalid options must throw before any connection.
const redis = 'redis://127.0.0.1:1'

describe('createPublisher options', () => {
  it.each([
    ['neither redis nor url', {}],
    ['both redis and url', { redis, url: 'http://localhost:4242', key: 'k' }],
    ['a redis that is neither a URL, options nor an ioredis instance', { redis: 42 }],
    ['an empty redis URL', { redis: '' }],
    [
      'redis options with a keyPrefix',
      { redis: { host: '127.0.0.1', port: 1, keyPrefix: 'app:' } },
    ],
    ['a non-string prefix', { redis, prefix: 1 }],
    ['publishTimeout 0', { redis, publishTimeout: 0 }],
    ['a fractional publishTimeout', { redis, publishTimeout: 1.5 }],
    ['a negative maxQueued', { redis, maxQueued: -1 }],
    ['maxPayloadBytes 0', { redis, maxPayloadBytes: 0 }],
    ['a negative history size', { redis, history: { size: -1, ttl: 1000 } }],
    ['a history without ttl', { redis, history: { size: 10 } }],
    ['an HTTP url without key', { url: 'http://localhost:4242' }],
    ['an empty cluster node list', { redis: { cluster: [] } }],
    ['a cluster node that is not a redis:// URL', { redis: { cluster: ['http://127.0.0.1:1'] } }],
    [
      'a cluster that is neither URLs nor an instance',
      { redis: { cluster: 'redis://127.0.0.1:1' } },
    ],
    ['partitions 0', { redis: { cluster: [redis], partitions: 0 } }],
    ['partitions 17', { redis: { cluster: [redis], partitions: 17 } }],
    ['cluster options with a keyPrefix', { redis: { cluster: [redis], keyPrefix: 'app:' } }],
    [
      'cluster node options with a keyPrefix',
      { redis: { cluster: [redis], redisOptions: { keyPrefix: 'app:' } } },
    ],
    ['a cluster prefix with braces', { redis: { cluster: [redis] }, prefix: 'app{1}:' }],
  ])('refuses %s with invalid-option, naming what to change', (_name, options) => {
    expect(() => createPublisher(options as unknown as PublisherOptions)).toThrow(
      expect.objectContaining({ name: 'RedisseError', code: 'invalid-option' }),
    )
  })

  it('names redis.partitions in the message', () => {
    expect(() => createPublisher({ redis: { cluster: [redis], partitions: 20 } })).toThrow(
      'redis.partitions must be an integer from 1 to 16, got 20',
    )
  })

  it('names the option in the message', () => {
    expect(() => createPublisher({ redis, publishTimeout: -5 })).toThrow(
      'publishTimeout must be an integer of at least 1, got -5',
    )
  })
})
