import { Cluster, type Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createServer } from '../src/index'

describe('an ioredis Cluster given as redis', () => {
  it('is refused with invalid-option at createServer, not taken for a standalone client', () => {
    // lazyConnect: nothing is dialled, so port 1 (where nothing listens) is safe.
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
    try {
      expect(() =>
        createServer({ public: true, logger: 'silent', redis: cluster as unknown as Redis }),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid-option',
          message: expect.stringContaining('ioredis Cluster'),
        }),
      )
    } finally {
      cluster.disconnect()
    }
  })

  it('refuses { cluster: [urls] } at createServer too, instead of dialling localhost:6379', () => {
    expect(() =>
      createServer({
        public: true,
        logger: 'silent',
        redis: { cluster: ['redis://127.0.0.1:1'] } as never,
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid-option',
        message: expect.stringContaining('Redis Cluster yet'),
      }),
    )
  })
})
