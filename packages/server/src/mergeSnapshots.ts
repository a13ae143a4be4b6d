import type { Metric } from './formatMetrics'
import type { ServerStats } from './handleStatus'

/** What one worker reports: its `/stats` and its `/metrics` before formatting. */
export interface WorkerSnapshot {
  worker: number
  stats: ServerStats
  metrics: Metric[]
}

function sumInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key]
    if (typeof value === 'number') {
      target[key] = (typeof current === 'number' ? current : 0) + value
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const child =
        current && typeof current === 'object' ? (current as Record<string, unknown>) : {}
      target[key] = child
      sumInto(child, value as Record<string, unknown>)
    } else if (current === undefined) {
      target[key] = value
    }
  }
}

/**
 * The `/stats` of a box of workers: every count summed (connections,
 * per-channel listeners, events, rejections), the broker `ready` only when
 * every worker's is, uptime the longest; `workers` lists each one's own.
 */
export function mergeStats(
  snapshots: readonly WorkerSnapshot[],
  expected: number,
): ServerStats & {
  workers: {
    count: number
    answered: number
    each: Array<{ worker: number; connections: number; broker: string }>
  }
} {
  const total: Record<string, unknown> = {}
  for (const { stats } of snapshots) sumInto(total, stats as unknown as Record<string, unknown>)
  const merged = total as unknown as ServerStats
  const states = snapshots.map((s) => s.stats.broker.state)
  merged.broker = {
    ...(snapshots[0]?.stats.broker ?? {
      kind: 'redis',
      state: 'connecting',
      reconnects: 0,
      deafVerdicts: 0,
      deafPartitions: 0,
    }),
    state: states.every((s) => s === 'ready')
      ? 'ready'
      : (states.find((s) => s !== 'ready') ?? 'connecting'),
    reconnects: snapshots.reduce((n, s) => n + s.stats.broker.reconnects, 0),
    // Each worker has its own subscriber connections and probes.
    deafVerdicts: snapshots.reduce((n, s) => n + s.stats.broker.deafVerdicts, 0),
    deafPartitions: snapshots.reduce((n, s) => n + s.stats.broker.deafPartitions, 0),
  }
  merged.uptimeMs = Math.max(0, ...snapshots.map((s) => s.stats.uptimeMs))
  return {
    ...merged,
    workers: {
      count: expected,
      answered: snapshots.length,
      each: snapshots.map((s) => ({
        worker: s.worker,
        connections: s.stats.connections,
        broker: s.stats.broker.state,
      })),
    },
  }
}

/**
 * The `/metrics` of a box of workers: samples of the same name, labels and
 * suffix summed (counters, gauges and histogram buckets all add up across
 * processes), `redisse_broker_up` the least of them, plus
 * `redisse_workers` (how many answered).
 */
export function mergeMetrics(snapshots: readonly WorkerSnapshot[]): Metric[] {
  const byName = new Map<
    string,
    { metric: Metric; values: Map<string, Metric['values'][number]> }
  >()
  for (const { metrics } of snapshots) {
    for (const metric of metrics) {
      let entry = byName.get(metric.name)
      if (!entry) {
        entry = { metric: { ...metric, values: [] }, values: new Map() }
        byName.set(metric.name, entry)
      }
      for (const sample of metric.values) {
        const key = `${sample.suffix ?? ''}${JSON.stringify(sample.labels ?? {})}`
        const seen = entry.values.get(key)
        if (!seen) entry.values.set(key, { ...sample })
        else if (metric.name === 'redisse_broker_up')
          seen.value = Math.min(seen.value, sample.value)
        else seen.value += sample.value
      }
    }
  }
  const out = [...byName.values()].map(({ metric, values }) => ({
    ...metric,
    values: [...values.values()],
  }))
  out.push({
    name: 'redisse_workers',
    help: 'Worker processes whose figures are summed here.',
    type: 'gauge',
    values: [{ value: snapshots.length }],
  })
  return out
}
