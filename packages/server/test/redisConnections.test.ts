import { createPublisher } from '@redisse/publisher'
import {
  makeTlsCertificate,
  openSse,
  type RedisProcess,
  startRedis,
  startSentinel,
  uniquePrefix,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { createServer, type ServerOptions } from '../src/index'

// Sentinel and TLS are ioredis features: the options must reach ioredis
// untouched, on the server's connections and the publisher's alike.
async function deliversThrough(
  redis: ServerOptions['redis'] & object,
  direct: RedisProcess,
): Promise<void> {
  const prefix = uniquePrefix('conn')
  const server = createServer({ logger: 'silent', redis, prefix, public: true })
  const pub = createPublisher({ redis, prefix })
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    const stream = await openSse(`${url}/?channel=news`)
    await stream.waitForComment('ok')
    const id = await pub.publish('news', 'headline', { title: 'hello' })
    const [event] = await stream.waitForEvents(1)
    expect(event).toMatchObject({ id, event: 'headline', data: '{"title":"hello"}' })
    // The event went through the Redis under test, not some other one.
    const check = new Redis(direct.url)
    expect(await check.get(`${prefix}seq`)).toBe('1')
    check.disconnect()
  } finally {
    await pub.close()
    await server.close()
  }
}

it('connects through Redis Sentinel with ioredis options { sentinels, name }', async () => {
  const redis = await startRedis()
  const sentinel = await startSentinel(redis.port)
  try {
    await deliversThrough(
      {
        sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
        name: sentinel.name,
      },
      redis,
    )
  } finally {
    await sentinel.stop()
    await redis.stop()
  }
})

it('connects over TLS with ioredis options { tls: { ca } }', async () => {
  const tls = makeTlsCertificate()
  const redis = await startRedis({ tls })
  try {
    const { port } = new URL(redis.tlsUrl ?? '')
    await deliversThrough({ host: '127.0.0.1', port: Number(port), tls: { ca: tls.cert } }, redis)
  } finally {
    await redis.stop()
  }
})

// Seen on December 4: a standalone ioredis client has a `cluster()` method
// (the CLUSTER command), and was taken for `{ cluster }` options: the
// server refused the instance the `redis` option documents.
it('delivers through an ioredis instance it is given, and leaves it open on close', async () => {
  const redis = await startRedis()
  const given = new Redis(redis.url)
  try {
    await deliversThrough(given, redis)
    expect(given.status).toBe('ready')
    expect(await given.ping()).toBe('PONG')
  } finally {
    given.disconnect()
    await redis.stop()
  }
})
