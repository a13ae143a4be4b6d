import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chartSvg } from './chartSvg'
import type { Point, Scale } from './scenarios'

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface RunRecord {
  peer: string
  rep: number
  points: Point[]
}

/** Median of each figure over repetitions, with the spread of the headline ones. */
export interface Row extends Point {
  peer: string
  reps: number
  eventsPerSecSpread: [number, number]
  p99Spread: [number, number]
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return 0
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function aggregate(runs: RunRecord[]): Row[] {
  const groups = new Map<string, { peer: string; points: Point[] }>()
  for (const run of runs) {
    for (const p of run.points) {
      const key = `${run.peer}\0${p.scenario}\0${p.label}`
      const g = groups.get(key) ?? { peer: run.peer, points: [] }
      g.points.push(p)
      groups.set(key, g)
    }
  }
  const rows: Row[] = []
  for (const { peer, points } of groups.values()) {
    const m = (f: (p: Point) => number) => median(points.map(f))
    const range = (f: (p: Point) => number): [number, number] => [
      Math.min(...points.map(f)),
      Math.max(...points.map(f)),
    ]
    const extraKeys = new Set(points.flatMap((p) => Object.keys(p.extra)))
    const first = points[0]!
    rows.push({
      peer,
      scenario: first.scenario,
      label: first.label,
      reps: points.length,
      connections: m((p) => p.connections),
      eventsPerSec: m((p) => p.eventsPerSec),
      eventsPerSecSpread: range((p) => p.eventsPerSec),
      p50: m((p) => p.p50),
      p99: m((p) => p.p99),
      p99Spread: range((p) => p.p99),
      p999: m((p) => p.p999),
      loss: m((p) => p.loss),
      cpuPerDelivery: m((p) => p.cpuPerDelivery),
      serverCpu: m((p) => p.serverCpu),
      // Client-bound when most repetitions were.
      clientBound: points.filter((p) => p.clientBound).length * 2 > points.length,
      extra: Object.fromEntries([...extraKeys].map((k) => [k, m((p) => p.extra[k] ?? 0)])),
    })
  }
  // Scenario, then its points in rising order (2/s before 10/s; `knee` last), then peer.
  const rank = (label: string) => {
    const n = Number.parseFloat(label)
    return Number.isNaN(n) ? Number.POSITIVE_INFINITY : label.includes('KB') ? n * 1024 : n
  }
  return rows.sort(
    (a, b) =>
      a.scenario.localeCompare(b.scenario) ||
      rank(a.label) - rank(b.label) ||
      a.label.localeCompare(b.label) ||
      a.peer.localeCompare(b.peer),
  )
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-'

function notes(r: Row): string {
  const e = r.extra
  const out: string[] = []
  if (r.scenario === 'S1') {
    out.push(
      `${fmt((e.bytesPerConnection ?? 0) / 1024, 1)} KB/conn`,
      `2nd half ${fmt((e.marginalBytesPerConnection ?? 0) / 1024, 1)} KB/conn`,
      `${fmt(e.connectPerSec ?? 0)} conn/s`,
      `idle CPU ${fmt(r.serverCpu * 100, 1)}%`,
    )
  }
  if (r.scenario === 'S2' && r.label === 'knee')
    out.push(`knee at ${fmt(e.rate ?? 0)} ev/s published`)
  if (r.scenario === 'S4') out.push(`drain ${fmt(e.drainMs ?? 0)} ms`)
  if (r.scenario === 'S5') out.push(`RSS +${fmt(e.rssGrowthMB ?? 0, 1)} MB`)
  if (r.scenario === 'S6') {
    out.push(
      `recover ${fmt(e.recoverMs ?? 0)} ms`,
      `${fmt(e.redisCommands ?? 0)} Redis cmds`,
      e.resumes ? 'resumes' : 'no resume',
    )
  }
  if (r.clientBound) out.push('CLIENT-BOUND')
  return out.join(', ')
}

/** The table printed on stdout and written into bench/README.md. */
export function table(rows: Row[]): string {
  const head = [
    'scenario',
    'point',
    'peer',
    'conns',
    'delivered ev/s',
    'p50 ms',
    'p99 ms',
    'p999 ms',
    'loss',
    'CPU µs/deliv',
    'notes',
  ]
  const lines = rows.map((r) => [
    r.scenario,
    r.label,
    r.peer,
    fmt(r.connections),
    r.eventsPerSec > 0 ? fmt(r.eventsPerSec) : '-',
    r.p50 > 0 ? fmt(r.p50, 1) : '-',
    r.p99 > 0 ? fmt(r.p99, 1) : '-',
    r.p999 > 0 ? fmt(r.p999, 1) : '-',
    fmt(r.loss),
    r.cpuPerDelivery > 0 ? fmt(r.cpuPerDelivery, 1) : '-',
    notes(r),
  ])
  // Columns padded the way the formatter (Biome) lays out Markdown tables.
  const widths = head.map((h, i) => Math.max(3, h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [row(head), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n')
}

/** Redisse against each peer, for the targets of issue #8. */
export function ratios(rows: Row[]): string[] {
  const get = (peer: string, scenario: string, label: string) =>
    rows.find((r) => r.peer === peer && r.scenario === scenario && r.label === label)
  const out: string[] = []
  // S2: the most a peer delivered at any step without loss (its knee when
  // one step met p99 < 250 ms, else what it peaked at); S3: the top rate.
  const headline = (peer: string, scenario: string): Row | undefined => {
    const mine = rows.filter(
      (r) => r.peer === peer && r.scenario === scenario && r.label !== 'knee',
    )
    if (scenario === 'S3')
      return mine.sort((a, b) => Number.parseInt(b.label, 10) - Number.parseInt(a.label, 10))[0]
    return mine.filter((r) => r.loss === 0).sort((a, b) => b.eventsPerSec - a.eventsPerSec)[0]
  }
  for (const us of ['redisse', 'redisse-redis']) {
    if (!rows.some((r) => r.peer === us)) continue
    for (const scenario of ['S2', 'S3']) {
      const mine = headline(us, scenario)
      if (!mine) continue
      const label = scenario === 'S2' ? 'peak without loss' : mine.label
      const parts = ['better-sse', 'socket.io', 'nchan', 'raw-net'].flatMap((peer) => {
        const theirs = headline(peer, scenario)
        return theirs && theirs.eventsPerSec > 0
          ? [`${fmt(mine.eventsPerSec / theirs.eventsPerSec, 2)}× ${peer}`]
          : []
      })
      out.push(
        `${us} ${scenario} ${label} delivered ev/s: ${parts.join(', ')} (targets ≥2× better-sse, ≥3× socket.io, >1× nchan, ≥0.8× raw)`,
      )
      const raw = headline('raw-net', scenario)
      if (raw && raw.cpuPerDelivery > 0 && mine.cpuPerDelivery > 0) {
        out.push(
          `${us} ${scenario} ${label} CPU per delivery: ${fmt(mine.cpuPerDelivery / raw.cpuPerDelivery, 2)}× raw-net (target ≤1.5×)`,
        )
      }
    }
    const idle = get(us, 'S1', 'idle')
    if (idle)
      out.push(
        `${us} S1 memory per idle connection: ${fmt((idle.extra.bytesPerConnection ?? 0) / 1024, 1)} KB (target ≤6 KB), ${fmt((idle.extra.marginalBytesPerConnection ?? 0) / 1024, 1)} KB over the second half (target ≤4.5 KB)`,
      )
    const knee = get(us, 'S2', 'knee')
    if (knee)
      out.push(
        `${us} S2 knee (p99 < 250 ms, no loss): ${fmt(knee.extra.rate ?? 0)} events/s published to ${fmt(knee.connections)} connections`,
      )
    const at10 = get(us, 'S2', '10/s')
    if (at10)
      out.push(
        `${us} S2 p99 at 10 ev/s on ${fmt(at10.connections)} connections: ${fmt(at10.p99, 1)} ms (target <100 ms)`,
      )
    const lossy = rows.filter((r) => r.peer === us && r.loss > 0)
    out.push(
      `${us} loss: ${lossy.length === 0 ? 'zero in every scenario' : lossy.map((r) => `${r.scenario} ${r.label} ${fmt(r.loss)}`).join(', ')}`,
    )
  }
  const before = rows.filter((r) => r.peer === 'redisse-before' || r.peer === 'redisse-before-ws')
  for (const old of before) {
    const current = old.peer.replace('-before', '')
    const now = get(current, old.scenario, old.label)
    if (!now || old.eventsPerSec <= 0 || old.cpuPerDelivery <= 0) continue
    out.push(
      `engine after/before (${current}) ${old.scenario} ${old.label}: ${fmt(now.eventsPerSec / old.eventsPerSec, 2)}× ev/s, ${fmt(now.cpuPerDelivery / old.cpuPerDelivery, 2)}× CPU per delivery, p99 ${fmt(now.p99, 1)} vs ${fmt(old.p99, 1)} ms`,
    )
  }
  return out
}

export function writeOutputs(o: {
  rows: Row[]
  runs: RunRecord[]
  /** Names the JSON file: the run's start time. */
  stamp: string
  quick: boolean
  reps: number
  scale: Scale
  machine: Record<string, unknown>
  seconds: number
  out?: string
}): void {
  const text = table(o.rows)
  const ratioLines = ratios(o.rows)
  console.log(`\n${text}\n`)
  for (const line of ratioLines) console.log(line)
  const date = o.stamp
  // The quick set is a smoke test: its figures go to a temp dir, not into the repo.
  const dir = o.out ?? (o.quick ? join(tmpdir(), 'redisse-bench') : join(benchDir, 'results'))
  const svgName = o.quick ? `${o.stamp}.svg` : 'latest.svg'
  mkdirSync(dir, { recursive: true })
  const json = join(dir, `${date}.json`)
  writeFileSync(
    json,
    `${JSON.stringify({ date: new Date().toISOString(), quick: o.quick, reps: o.reps, scale: o.scale, machine: o.machine, seconds: o.seconds, rows: o.rows, ratios: ratioLines, runs: o.runs }, null, 2)}\n`,
  )
  const svg = join(dir, svgName)
  writeFileSync(
    svg,
    chartSvg(
      o.rows,
      `Redisse bench ${new Date().toISOString().slice(0, 10)} (${o.machine.cores} cores, medians of ${o.reps})`,
    ),
  )
  console.log(`\nwrote ${json}\nwrote ${svg}\ntook ${o.seconds.toFixed(0)} s`)
  if (!o.quick && (o.out === undefined || o.out === join(benchDir, 'results'))) {
    updateReadme(text, ratioLines, json)
  }
}

function updateReadme(text: string, ratioLines: string[], json: string): void {
  const readme = join(benchDir, 'README.md')
  let body: string
  try {
    body = readFileSync(readme, 'utf8')
  } catch {
    return
  }
  const start = '<!-- results:start -->'
  const end = '<!-- results:end -->'
  const a = body.indexOf(start)
  const b = body.indexOf(end)
  if (a < 0 || b < a) return
  const block = `${start}\nFrom \`${json.slice(benchDir.length + 1)}\`:\n\n${text}\n\n${ratioLines.map((l) => `- ${l}`).join('\n')}\n${end}`
  writeFileSync(readme, body.slice(0, a) + block + body.slice(b + end.length))
}
