import { createPublisher } from '@redisse/publisher'
import { openSse, startRedis, startTcpProxy, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'

async function health(url: string): Promise<number> {
  return (await fetch(`${url}/healthz`)).status
}

// A half-open connection raises no error at all: without the probe the node
// would stay "healthy" while every event published meanwhile vanished.
it('detects a silently dead Redis connection, reports it on /healthz, reconnects and recovers the events', async () => {
  const redis = await startRedis()
  const proxy = await startTcpProxy(redis.port)
  const server = createServer({
    logger: 'silent',
    redis: `redis://127.0.0.1:${proxy.port}`,
    public: true,
    probe: { interval: 200, timeout: 300 },
  })
  const pub = createPublisher({ redis: redis.url })
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    const stream = await openSse(`${url}/?channel=a`)
    await stream.waitForComment('ok')
    await pub.publish('a', 'm', 0)
    await stream.waitForEvents(1)
    expect(await health(url)).toBe(200)

    proxy.freeze()
    for (let i = 1; i <= 5; i++) await pub.publish('a', 'm', i)
    await waitFor(async () => (await health(url)) === 503, { what: 'healthz 503', timeout: 5000 })
    await waitFor(async () => (await health(url)) === 200, { what: 'healthz 200', timeout: 10_000 })
    await pub.publish('a', 'm', 6)

    await stream.waitForEvents(7, 10_000)
    expect(stream.events.map((e) => Number(e.data))).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(server.stats().broker.reconnects).toBeGreaterThanOrEqual(1)
  } finally {
    await pub.close()
    await server.close()
    await proxy.close()
    await redis.stop()
  }
})

it('keeps a healthy connection alone: no reconnect while probes come back', async () => {
  const redis = await startRedis()
  const server = createServer({
    logger: 'silent',
    redis: redis.url,
    public: true,
    probe: { interval: 50, timeout: 500 },
  })
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    await new Promise((r) => setTimeout(r, 1000))
    expect(await health(url)).toBe(200)
    expect(server.stats().broker.reconnects).toBe(0)
  } finally {
    await server.close()
    await redis.stop()
  }
})
