import type { Metric } from './formatMetrics'

/**
 * The part of a prom-client `Registry` Redisse uses. Redisse does not import
 * prom-client: it hands the host's registry collectors of its own, read at
 * each scrape, so the host's `/metrics` (with prom-client's process and
 * event-loop metrics, `collectDefaultMetrics({ register })`) carries ours too.
 */
export interface PromRegistry {
  registerMetric(metric: never): void
  removeSingleMetric(name: string): void
}

/** What prom-client's registry reads from a metric at each scrape. */
interface PromMetricData {
  name: string
  help: string
  type: Metric['type']
  aggregator: 'sum'
  values: Array<{ value: number; labels: Record<string, string>; metricName?: string }>
}

/**
 * Registers every metric of `collect()` into `registry`, each read fresh at
 * scrape time (one `collect()` per scrape, shared by all of them).
 * @returns unregister, for `close()`
 */
export function registerPromMetrics(registry: PromRegistry, collect: () => Metric[]): () => void {
  let cached: Map<string, Metric> | undefined
  // A scrape reads every collector within one turn: collect once for all of them.
  const current = (): Map<string, Metric> => {
    if (!cached) {
      cached = new Map(collect().map((m) => [m.name, m]))
      setImmediate(() => {
        cached = undefined
      })
    }
    return cached
  }
  const initial = collect()
  const names = initial.map((m) => m.name)
  for (const first of initial) {
    const { name } = first
    const metric = {
      name,
      help: first.help,
      type: first.type,
      aggregator: 'sum' as const,
      get: async (): Promise<PromMetricData> => {
        const m = current().get(name)
        return {
          name,
          help: m?.help ?? name,
          type: m?.type ?? 'gauge',
          aggregator: 'sum',
          values: (m?.values ?? []).map(({ labels, value, suffix }) => ({
            value,
            labels: labels ?? {},
            ...(suffix ? { metricName: `${name}${suffix}` } : {}),
          })),
        }
      },
      reset: () => {},
    }
    registry.registerMetric(metric as never)
  }
  return () => {
    for (const name of names) registry.removeSingleMetric(name)
  }
}
