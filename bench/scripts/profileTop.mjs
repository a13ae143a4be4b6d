#!/usr/bin/env node
/**
 * Sums a V8 `.cpuprofile` (from `node --cpu-prof`) by function: self time
 * and total (inclusive) time, top N of each, as % of the sampled time.
 *
 * Usage: node bench/scripts/profileTop.mjs <file.cpuprofile> [N] [--from=<substring>]
 * `--from` keeps only the samples whose stack holds a function or URL
 * containing the substring (e.g. `--from=createRedisBroker` for the per-event
 * path), so set-up work (connects) stays out of the figures.
 */
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const from = args.find((a) => a.startsWith('--from='))?.slice('--from='.length)
// `--window=a,b`: only samples between a and b seconds after the profile began.
const windowArg = args.find((a) => a.startsWith('--window='))?.slice('--window='.length)
const [winFrom, winTo] = windowArg ? windowArg.split(',').map(Number) : [0, Infinity]
const timeline = args.includes('--timeline')
const [file, nArg] = args.filter((a) => !a.startsWith('--'))
if (!file) {
  console.error('usage: profileTop.mjs <file.cpuprofile> [N] [--from=<substring>]')
  process.exit(2)
}
const top = Number(nArg ?? 30)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const label = (n) => {
  const f = n.callFrame
  const url = f.url.replace(/^.*\/(packages|node_modules)\//, '$1/')
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`.trim()
}
// Time per sample from the deltas; samples[i] took timeDeltas[i+1] (close enough).
const deltas = profile.timeDeltas
const self = new Map()
const total = new Map()
let sum = 0
let kept = 0
const stackOf = (id) => {
  const out = []
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur))
  return out
}
// Busy (non-idle) time per second, for --timeline: shows the phases of a run.
const busy = []
let at = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = deltas[i + 1] ?? deltas[i] ?? 0
  at += deltas[i] ?? 0
  const second = at / 1e6
  const stack = stackOf(profile.samples[i])
  if (label(stack[0]) !== '(idle)') busy[Math.floor(second)] = (busy[Math.floor(second)] ?? 0) + dt
  if (second < winFrom || second > winTo) continue
  sum += dt
  if (from && !stack.some((n) => label(n).includes(from))) continue
  kept += dt
  const leaf = label(stack[0])
  self.set(leaf, (self.get(leaf) ?? 0) + dt)
  for (const key of new Set(stack.map(label))) total.set(key, (total.get(key) ?? 0) + dt)
}
if (timeline) {
  console.log('busy ms per second of the profile:')
  console.log(busy.map((us, s) => `${s}:${Math.round((us ?? 0) / 1000)}`).join(' '))
}
const pct = (us) => `${((100 * us) / kept).toFixed(1).padStart(5)}%`
console.log(
  `sampled ${(sum / 1e6).toFixed(2)} s${from ? `, ${(kept / 1e6).toFixed(2)} s under "${from}"` : ''}`,
)
console.log(`\ntop ${top} by self time:`)
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k)
console.log(`\ntop ${top} by total time:`)
for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k)
