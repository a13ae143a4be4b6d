import { createPublisher } from '@redisse/publisher'
import { openSse, startRedis, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'

// The recovery after a bus outage is a replay too: a gap of 16 MB missed
// while the subscriber was away reaches a reading stream whole, in pages.
it('recovers a 16 MB gap missed while the subscriber was away, whole and once, to a reading stream', async () => {
  const redis = await startRedis()
  const url = new URL(redis.url)
  const server = createServer({
    logger: 'silent',
    // The subscriber stays away long enough for the whole gap to be published.
    redis: { host: url.hostname, port: Number(url.port), retryStrategy: () => 2500 },
    public: true,
    history: { size: 2000, ttl: 600_000 },
  })
  const pub = createPublisher({ redis: redis.url })
  const admin = new Redis(redis.url)
  try {
    const { url: base } = await server.listen(0, '127.0.0.1')
    const stream = await openSse(`${base}/?channel=r`)
    await stream.waitForComment('ok')
    await pub.publish('r', 'm', { i: -1 })
    await stream.waitForEvents(1)

    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    const pad = 'z'.repeat(16 * 1024)
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => pub.publish('r', 'm', { i: i + k, pad })),
      )
    }
    expect(server.stats().broker.reconnects).toBeGreaterThanOrEqual(1)
    await waitFor(() => server.stats().events.recovered > 0, { what: 'recovery', timeout: 15_000 })
    await pub.publish('r', 'live', 'marker')
    await waitFor(() => stream.events.some((e) => e.event === 'live') || stream.isEnded, {
      timeout: 20_000,
      what: 'the marker',
    })
    expect(stream.isEnded).toBe(false)
    const got = stream.events.filter((e) => e.event === 'm').map((e) => JSON.parse(e.data).i)
    expect(got).toEqual(Array.from({ length: 1001 }, (_, i) => i - 1))
    expect(stream.events.at(-1)?.event).toBe('live')
    expect(server.stats().dropped.slowClients).toBe(0)
  } finally {
    admin.disconnect()
    await pub.close()
    await server.close()
    await redis.stop()
  }
}, 60_000)
