import type { Row } from './report'

const COLORS = ['#d9480f', '#f08c00', '#1971c2', '#2f9e44', '#7048e8', '#495057', '#c2255c']
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

interface Panel {
  title: string
  value: (r: Row) => number
  unit: string
}

/**
 * A grouped bar chart as plain SVG: one group per scenario point, one bar
 * per peer, log scale (figures span several orders of magnitude). Two
 * panels: delivered events/s and p99 latency. Client-bound bars are hatched.
 */
export function chartSvg(rows: Row[], title: string): string {
  const peers = [...new Set(rows.map((r) => r.peer))].sort()
  const groups = [
    ...new Set(rows.filter((r) => r.eventsPerSec > 0).map((r) => `${r.scenario} ${r.label}`)),
  ]
  const bar = 11
  const groupWidth = peers.length * bar + 18
  const left = 60
  const width = Math.max(600, left + groups.length * groupWidth + 20)
  const panelHeight = 220
  const panels: Panel[] = [
    {
      title: 'delivered events/s (log scale, higher is better)',
      value: (r) => r.eventsPerSec,
      unit: '',
    },
    { title: 'p99 latency, ms (log scale, lower is better)', value: (r) => r.p99, unit: ' ms' },
  ]
  const parts: string[] = []
  const legendY = 40
  peers.forEach((peer, i) => {
    const x = left + i * 120
    parts.push(
      `<rect x="${x}" y="${legendY - 10}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`,
    )
    parts.push(`<text x="${x + 14}" y="${legendY}">${esc(peer)}</text>`)
  })
  panels.forEach((panel, p) => {
    const top = 70 + p * (panelHeight + 70)
    const values = rows
      .filter((r) => groups.includes(`${r.scenario} ${r.label}`))
      .map(panel.value)
      .filter((v) => v > 0)
    const lo = Math.floor(Math.log10(Math.min(...values, 1)))
    const hi = Math.ceil(Math.log10(Math.max(...values, 10)))
    const y = (v: number) =>
      top + panelHeight - ((Math.log10(v) - lo) / (hi - lo || 1)) * panelHeight
    parts.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${esc(panel.title)}</text>`)
    for (let e = lo; e <= hi; e++) {
      const gy = y(10 ** e)
      parts.push(`<line x1="${left}" x2="${width - 10}" y1="${gy}" y2="${gy}" stroke="#ddd"/>`)
      parts.push(
        `<text x="${left - 4}" y="${gy + 4}" text-anchor="end">${e >= 3 ? `${10 ** (e - 3)}k` : 10 ** e}</text>`,
      )
    }
    groups.forEach((group, g) => {
      const gx = left + 10 + g * groupWidth
      peers.forEach((peer, i) => {
        const row = rows.find((r) => r.peer === peer && `${r.scenario} ${r.label}` === group)
        const v = row ? panel.value(row) : 0
        if (!row || v <= 0) return
        const by = y(v)
        const fill = COLORS[i % COLORS.length]
        parts.push(
          `<rect x="${gx + i * bar}" y="${by.toFixed(1)}" width="${bar - 2}" height="${(top + panelHeight - by).toFixed(1)}" fill="${fill}"${row.clientBound ? ' fill-opacity="0.4" stroke="#000" stroke-dasharray="2,2"' : ''}><title>${esc(`${peer} ${group}: ${Math.round(v * 10) / 10}${panel.unit}${row.clientBound ? ' (client-bound)' : ''}`)}</title></rect>`,
        )
      })
      parts.push(
        `<text x="${gx + (peers.length * bar) / 2}" y="${top + panelHeight + 14}" text-anchor="middle">${esc(group)}</text>`,
      )
    })
  })
  const height = 70 + panels.length * (panelHeight + 70)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>
<text x="${width - 10}" y="18" text-anchor="end" fill="#666">hatched/pale: client-bound (load core saturated)</text>
${parts.join('\n')}
</svg>
`
}
