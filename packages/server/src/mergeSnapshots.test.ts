import { describe, expect, test } from 'vitest'
import type { ServerStats } from './handleStatus'
import { mergeMetrics, mergeStats, type WorkerSnapshot } from './mergeSnapshots'

function stats(connections: number, state: string, channels: Record<string, number>): ServerStats {
  return {
    connections,
    transports: { sse: connections, websocket: 0, poll: 0 },
    channels,
    events: {
      received: 1,
      delivered: connections,
      recovered: 0,
      published: 0,
      publishErrors: 0,
      polls: 0,
      messages: 0,
    },
    dropped: { slowClients: 0, envelopes: 0 },
    rejected: { limit: 1 },
    broker: { kind: 'redis', state, reconnects: 1, deafVerdicts: 2, deafPartitions: 1 },
    uptimeMs: connections * 1000,
  }
}

const snapshot = (worker: number, s: ServerStats): WorkerSnapshot => ({
  worker,
  stats: s,
  metrics: [
    { name: 'redisse_connections', help: 'h', type: 'gauge', values: [{ value: s.connections }] },
    {
      name: 'redisse_delivery_latency_seconds',
      help: 'h',
      type: 'histogram',
      values: [
        { suffix: '_bucket', labels: { le: '0.1' }, value: worker },
        { suffix: '_count', value: worker },
      ],
    },
    {
      name: 'redisse_broker_up',
      help: 'h',
      type: 'gauge',
      values: [{ value: s.broker.state === 'ready' ? 1 : 0 }],
    },
  ],
})

describe('mergeStats', () => {
  test('sums every count, per channel too, and is ready only when every worker is', () => {
    const merged = mergeStats(
      [
        snapshot(1, stats(3, 'ready', { a: 2, b: 1 })),
        snapshot(2, stats(5, 'reconnecting', { a: 5 })),
      ],
      3,
    )
    expect(merged.connections).toBe(8)
    expect(merged.channels).toEqual({ a: 7, b: 1 })
    expect(merged.transports.sse).toBe(8)
    expect(merged.rejected).toEqual({ limit: 2 })
    expect(merged.broker).toEqual({
      kind: 'redis',
      state: 'reconnecting',
      reconnects: 2,
      deafVerdicts: 4,
      deafPartitions: 2,
    })
    expect(merged.uptimeMs).toBe(5000)
    expect(merged.workers).toEqual({
      count: 3,
      answered: 2,
      each: [
        { worker: 1, connections: 3, broker: 'ready' },
        { worker: 2, connections: 5, broker: 'reconnecting' },
      ],
    })
  })
})

describe('mergeMetrics', () => {
  test('sums samples of the same name, labels and suffix; broker_up is the least', () => {
    const merged = mergeMetrics([
      snapshot(1, stats(3, 'ready', {})),
      snapshot(2, stats(5, 'reconnecting', {})),
    ])
    const byName = Object.fromEntries(merged.map((m) => [m.name, m.values]))
    expect(byName.redisse_connections).toEqual([{ value: 8 }])
    expect(byName.redisse_delivery_latency_seconds).toEqual([
      { suffix: '_bucket', labels: { le: '0.1' }, value: 3 },
      { suffix: '_count', value: 3 },
    ])
    expect(byName.redisse_broker_up).toEqual([{ value: 0 }])
    expect(byName.redisse_workers).toEqual([{ value: 2 }])
  })
})
