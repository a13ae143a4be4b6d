/** One metric of the Prometheus text format. */
export interface Metric {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  values: Array<{
    labels?: Record<string, string>
    value: number
    suffix?: '_bucket' | '_sum' | '_count'
  }>
}

const escapeLabel = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

/**
 * Renders metrics in the Prometheus text exposition format 0.0.4.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export function formatMetrics(metrics: Metric[]): string {
  let out = ''
  for (const m of metrics) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n`
    for (const { labels, value, suffix = '' } of m.values) {
      const l = labels
        ? `{${Object.entries(labels)
            .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
            .join(',')}}`
        : ''
      out += `${m.name}${suffix}${l} ${value}\n`
    }
  }
  return out
}
