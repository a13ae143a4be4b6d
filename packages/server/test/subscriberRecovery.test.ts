import { createPublisher } from '@redisse/publisher'
import { openSse, startRedis, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'

// The loss Redis pub/sub is known for: the publisher's connection is fine
// while a node's subscriber is away, so PUBLISH reaches nobody. Recovery from
// history must hand those events to the open streams, in order and once.
it('fills the gap from history when the subscriber connection drops while events are published', async () => {
  const redis = await startRedis()
  const server = createServer({ logger: 'silent', redis: redis.url, public: true })
  const pub = createPublisher({ redis: redis.url })
  const admin = new Redis(redis.url)
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    const stream = await openSse(`${url}/?channel=r1&channel=r2`)
    await stream.waitForComment('ok')
    await pub.publish('r1', 'm', 0)
    await stream.waitForEvents(1)

    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    for (let i = 1; i <= 10; i++) await pub.publish(i % 2 ? 'r2' : 'r1', 'm', i)
    await waitFor(() => server.stats().events.recovered > 0, { what: 'recovery', timeout: 10_000 })
    await pub.publish('r1', 'm', 11)

    const events = await stream.waitForEvents(12, 10_000)
    await new Promise((r) => setTimeout(r, 100))
    expect(stream.events.map((e) => Number(e.data))).toEqual([...Array(12).keys()])
    expect(events.every((e) => e.event === 'm')).toBe(true)
    expect(server.stats().broker.reconnects).toBeGreaterThanOrEqual(1)
  } finally {
    admin.disconnect()
    await pub.close()
    await server.close()
    await redis.stop()
  }
})
