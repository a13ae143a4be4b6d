import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux). */
const TICKS = 100

/**
 * Reads `ppid`, CPU seconds (utime+stime), of them those in the kernel
 * (stime), and RSS bytes of one process, or undefined once it is gone.
 */
function readProc(
  pid: number,
): { ppid: number; cpu: number; sys: number; rss: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(fields[1])
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS
    const sys = Number(fields[12]) / TICKS
    const rss = Number(fields[21]) * 4096
    return { ppid, cpu, sys, rss }
  } catch {
    return undefined
  }
}

/** Every process descended from `root`, itself included. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const info = readProc(pid)
    if (!info) continue
    const list = children.get(info.ppid) ?? []
    list.push(pid)
    children.set(info.ppid, list)
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()!
    out.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

/** CPU seconds (of them `sys` in the kernel) and RSS bytes summed over processes. */
export interface Usage {
  cpu: number
  sys: number
  rss: number
}

/** Sums CPU and RSS of the given processes (the whole tree of a peer). */
export function usageOf(pids: readonly number[]): Usage {
  let cpu = 0
  let sys = 0
  let rss = 0
  for (const pid of pids) {
    const info = readProc(pid)
    if (!info) continue
    cpu += info.cpu
    sys += info.sys
    rss += info.rss
  }
  return { cpu, sys, rss }
}

/** Jiffies one core spent busy, and in all, since boot (`/proc/stat`). */
export interface CoreTime {
  busy: number
  total: number
}

/** The times of core `core` from `/proc/stat`, or undefined where there is no such line. */
export function coreTime(core: number): CoreTime | undefined {
  const line = readFileSync('/proc/stat', 'latin1')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `))
  if (!line) return undefined
  // user nice system idle iowait irq softirq steal …: idle and iowait are the idle ones.
  const times = line.trim().split(/\s+/).slice(1).map(Number)
  const total = times.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (times[3] ?? 0) + (times[4] ?? 0)
  return { busy: total - idle, total }
}

/** Share of `from`…`to` that the core was busy, whoever used it. */
export function busyShare(from: CoreTime, to: CoreTime): number {
  const total = to.total - from.total
  return total > 0 ? (to.busy - from.busy) / total : 0
}
