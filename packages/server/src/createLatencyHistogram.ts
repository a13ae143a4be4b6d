import type { Metric } from './formatMetrics'

/** Upper bounds of the delivery-latency buckets, in seconds. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const

/**
 * Delivery latency: time from the publish (the broker's clock, carried in
 * the envelope) to the moment this node wrote the event to its streams.
 * Observed once per event, not per connection, so it costs nothing per client.
 */
export function createLatencyHistogram() {
  const counts = new Array<number>(LATENCY_BUCKETS.length).fill(0)
  let sum = 0
  let count = 0
  return {
    observe(seconds: number): void {
      const value = Math.max(0, seconds)
      sum += value
      count += 1
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        if (value <= (LATENCY_BUCKETS[i] ?? 0)) {
          counts[i] = (counts[i] ?? 0) + 1
          break
        }
      }
    },
    metric(name: string, help: string): Metric {
      let cumulative = 0
      const values: Metric['values'] = LATENCY_BUCKETS.map((le, i) => {
        cumulative += counts[i] ?? 0
        return { suffix: '_bucket', labels: { le: String(le) }, value: cumulative }
      })
      values.push({ suffix: '_bucket', labels: { le: '+Inf' }, value: count })
      values.push({ suffix: '_sum', value: sum }, { suffix: '_count', value: count })
      return { name, help, type: 'histogram', values }
    },
  }
}
