import { describe, expect, it } from 'vitest'
import { BROKERS, call, startServer } from './harness'

describe.each(BROKERS)('stats, metrics and health on the %s broker', (kind) => {
  it('reports connections, per-channel subscribers and delivered counts', async () => {
    await using srv = await startServer(kind, { public: true })
    await srv.open('/?channel=a&channel=b')
    await srv.open('/?channel=a')
    const s1 = await srv.open('/?channel=a')
    await srv.publish('a', 't', 1)
    await s1.waitForEvents(1)
    const stats = await call(`${srv.url}/stats`)
    expect(stats.status).toBe(200)
    expect(stats.body).toMatchObject({
      connections: 3,
      channels: { a: 3, b: 1 },
      broker: { kind, state: 'ready' },
    })
    const metrics = await call(`${srv.url}/metrics`)
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4')
    expect(metrics.body).toContain('# TYPE redisse_connections gauge\nredisse_connections 3\n')
    expect(metrics.body).toMatch(/redisse_events_delivered_total [1-3]\n/)
    expect(metrics.body).toContain('redisse_broker_up 1\n')
    expect(metrics.body).toContain('# TYPE redisse_delivery_latency_seconds histogram\n')
    expect(metrics.body).toContain('redisse_delivery_latency_seconds_bucket{le="+Inf"} 1\n')
    expect(metrics.body).toContain('redisse_delivery_latency_seconds_count 1\n')
    expect(metrics.body).toContain('redisse_broker_reconnects_total 0\n')
    expect((await call(`${srv.url}/healthz`)).body).toEqual({
      ok: true,
      broker: 'ready',
      closing: false,
    })
  })

  it('protects /stats and /metrics with statsKey', async () => {
    await using srv = await startServer(kind, { public: true, statsKey: 'stats-key-1' })
    expect((await call(`${srv.url}/stats`)).status).toBe(401)
    expect((await call(`${srv.url}/metrics`)).status).toBe(401)
    const ok = await call(`${srv.url}/stats`, { headers: { authorization: 'Bearer stats-key-1' } })
    expect(ok.status).toBe(200)
  })
})
