import { createPublisher } from '@redisse/publisher'
import { startRedis, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'
import { call } from './harness'

it('reports the outage on /healthz and /metrics, resubscribes after Redis restarts empty, tells streams to reset, and keeps them open', async () => {
  const redis = await startRedis()
  const server = createServer({
    logger: 'silent',
    redis: redis.url,
    public: true,
    stats: 'public',
  })
  const pub = createPublisher({ redis: redis.url, publishTimeout: 5000 })
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    const { openSse } = await import('@redisse/test-utils')
    const stream = await openSse(`${url}/?channel=live`)
    await stream.waitForComment('ok')
    await pub.publish('live', 't', 'before')
    await stream.waitForEvents(1)

    await redis.stop({ hard: true })
    await waitFor(async () => (await call(`${url}/healthz`)).status === 503, {
      what: 'healthz 503',
    })
    await redis.restart()
    await waitFor(async () => (await call(`${url}/healthz`)).status === 200, {
      what: 'healthz 200',
      timeout: 10_000,
    })
    // The subscriber is back: wait until Redis sees it on the channel again.
    await waitFor(async () => server.stats().broker.state === 'ready', { what: 'broker ready' })
    await pub.publish('live', 't', 'after')
    await stream.waitForEvents(3, 10_000)
    // The restarted Redis has no data: the log is new, so the stream is told
    // to refetch before the first event of the new log.
    expect(stream.events.map((e) => [e.event, e.data])).toEqual([
      ['t', '"before"'],
      ['redisse:reset', '{"channels":["live"],"reason":"epoch-changed"}'],
      ['t', '"after"'],
    ])
    expect(stream.isEnded).toBe(false)
    const metrics = (await call(`${url}/metrics`)).body as string
    expect(metrics).toMatch(/redisse_broker_reconnects_total [1-9]\d*\n/)
  } finally {
    await pub.close()
    await server.close()
    await redis.stop()
  }
})
