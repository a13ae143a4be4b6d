import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Publisher } from '@redisse/publisher'
import { spawnCliFromSource, waitFor } from '@redisse/test-utils'
import { afterAll } from 'vitest'
import { auditChannel, ChaosClient, STRANDED_AFTER } from './chaosClient'

// The chaos suites' rig: server nodes as real processes, killed at will,
// and a publisher that lands every counter exactly once.
// A quick canary, so a stall is seen within the test's time.
const configPath = join(mkdtempSync(join(tmpdir(), 'redisse-chaos-')), 'chaos.config.mjs')
writeFileSync(configPath, 'export default { probe: { interval: 300, timeout: 600 } }\n')
const children = new Set<ChildProcess>()

afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

export interface Node {
  url: string
  port: number
  child: ChildProcess
}

/** `/stats` is off on the CLI without a key. */
export const STATS_KEY = 'chaos-stats-key'

/**
 * Starts `redisse-server` from source as a child process in public mode,
 * with a quick canary; `env` names the bus (REDIS_URL or REDIS_CLUSTER).
 */
export async function startNode(
  env: Record<string, string>,
  port: number,
  args: string[] = [],
): Promise<Node> {
  const child = spawnCliFromSource(
    [
      '--config',
      configPath,
      '--public',
      '--stats-key',
      STATS_KEY,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      ...args,
    ],
    { env: { ...process.env, PORT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // Node logs (warnings and errors, JSON lines) explain a failure.
  const log = (chunk: Buffer) => {
    if (process.env.CHAOS_TRACE) process.stdout.write(`[node ${port}] ${chunk}`)
  }
  child.stdout?.on('data', log)
  child.stderr?.on('data', log)
  children.add(child)
  child.on('exit', () => children.delete(child))
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200,
    { what: `node on port ${port}`, timeout: 20_000, interval: 50 },
  )
  return { url, port, child }
}

/** SIGKILLs a node; resolves once it is gone. */
export function kill(node: Node): Promise<void> {
  return new Promise((resolve) => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return resolve()
    node.child.once('exit', () => resolve())
    node.child.kill('SIGKILL')
  })
}

/** Events the node sent from history after bus outages (`/stats`). */
export async function recoveredOn(node: Node): Promise<number> {
  const res = await fetch(`${node.url}/stats`, {
    headers: { authorization: `Bearer ${STATS_KEY}` },
  }).catch(() => undefined)
  const stats = (await res?.json()) as { events?: { recovered?: number } } | undefined
  return stats?.events?.recovered ?? 0
}

/** Publishes counters 1, 2, 3… on one channel at a steady rate, retrying each until it lands once. */
export async function publishSteadily(
  pub: Publisher,
  channel: string,
  until: number,
  published: Map<string, number>,
  lastPublishAt: Map<string, number>,
  ratePerChannel: number,
): Promise<void> {
  const interval = 1000 / ratePerChannel
  let next = Date.now()
  for (let counter = 1; Date.now() < until; counter++) {
    // The idempotency key makes a retry after an ambiguous failure safe.
    for (;;) {
      try {
        await pub.publish(channel, 'tick', counter, { idempotencyKey: `${channel}-${counter}` })
        break
      } catch {
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    published.set(channel, counter)
    lastPublishAt.set(channel, Date.now())
    next += interval
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
  }
}

/** `count` reconnecting clients, each on two of `channels`, homed on the nodes in turn. */
export function chaosClients(nodes: string[], channels: string[], count: number): ChaosClient[] {
  const n = channels.length
  return Array.from(
    { length: count },
    (_, i) =>
      new ChaosClient(
        nodes,
        [channels[i % n], channels[(i + 1 + (i % (n - 1))) % n]] as string[],
        i % 2,
      ),
  )
}

/** Notes every client left open and silent while its channels publish (checked every 250 ms). */
export function watchStranded(
  clients: ChaosClient[],
  lastPublishAt: ReadonlyMap<string, number>,
  started: number,
): { lines: string[]; stop(): void } {
  const lines: string[] = []
  const timer = setInterval(() => {
    const now = Date.now()
    clients.forEach((client, index) => {
      if (client.checkStranded(now, lastPublishAt)) {
        lines.push(`client ${index}, silent from ${now - started - STRANDED_AFTER} ms`)
      }
    })
  }, 250)
  return { lines, stop: () => clearInterval(timer) }
}

/**
 * Cuts `perTick` random client sockets every 300 ms, from the moment every
 * client holds a cursor: before its first event a client has none to
 * resume from (EventSource's limit, on any server).
 * @returns stops the cutting
 */
export async function startDropping(clients: ChaosClient[], perTick: number): Promise<() => void> {
  await waitFor(() => clients.every((client) => client.lastEventId !== undefined), {
    what: 'every client to hold a cursor',
    timeout: 10_000,
  })
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) clients[Math.floor(Math.random() * clients.length)]?.drop()
  }, 300)
  return () => clearInterval(timer)
}

/** Resolves true once every client heard the last counter of its channels, false after the wait. */
export function caughtUp(
  clients: ChaosClient[],
  published: ReadonlyMap<string, number>,
): Promise<boolean> {
  return waitFor(
    () =>
      clients.every((client) =>
        [...client.logs.keys()].every(
          (channel) => client.newest(channel) >= (published.get(channel) ?? 0),
        ),
      ),
    {
      what: 'every client to hear the last event of its channels',
      timeout: STRANDED_AFTER + 10_000,
    },
  ).then(
    () => true,
    () => false,
  )
}

/**
 * What every client received against what was published: losses,
 * duplicates, order breaks and resets, summed; the first losses are printed
 * (with the connections around them when CHAOS_TRACE is set).
 */
export function auditClients(clients: ChaosClient[], published: ReadonlyMap<string, number>) {
  const totals = { received: 0, duplicates: 0, lost: 0, outOfOrder: 0, excused: 0 }
  const lostDetails: string[] = []
  clients.forEach((client, index) => {
    for (const [channel, log] of client.logs) {
      const audit = auditChannel(log, published.get(channel) ?? 0)
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += audit[key]
      if (audit.lostCounters.length === 0) continue
      lostDetails.push(`client ${index} ${channel}: ${audit.lostCounters.join(',')}`)
      if (!process.env.CHAOS_TRACE) continue
      const lost = audit.lostCounters[0] ?? 0
      for (const t of client.trace) {
        const near = t.ids.filter((id) => {
          const n = Number(id.slice(id.lastIndexOf('=') + 1))
          return id.includes(`@${channel}`) && Math.abs(n - lost) <= 3
        })
        console.log(
          `  ${t.node} status=${t.status} sent=${t.sent} n=${t.ids.length} first=${t.ids[0]} last=${t.ids[t.ids.length - 1]} near=${near.join(' ')}`,
        )
      }
    }
  })
  if (lostDetails.length > 0) console.log(`lost: ${lostDetails.slice(0, 10).join('; ')}`)
  return {
    events: [...published.values()].reduce((s, n) => s + n, 0),
    delivered: totals.received,
    reconnects: clients.reduce((s, c) => s + c.connects - 1, 0),
    replayedOnResume: clients.reduce((s, c) => s + c.replayed, 0),
    resets: clients.reduce((s, c) => s + c.resets, 0),
    excused: totals.excused,
    duplicates: totals.duplicates,
    outOfOrder: totals.outOfOrder,
    lost: totals.lost,
    stranded: clients.reduce((s, c) => s + c.stranded, 0),
  }
}

/**
 * Publishes on every channel at `ratePerChannel` for `forMs` (see
 * {@link publishSteadily}); `at(ms)` waits until that long after the start.
 */
export function publishAll(
  pub: Publisher,
  channels: string[],
  forMs: number,
  ratePerChannel: number,
) {
  const published = new Map<string, number>()
  const lastPublishAt = new Map<string, number>()
  const started = Date.now()
  const until = started + forMs
  const done = Promise.all(
    channels.map((channel) =>
      publishSteadily(pub, channel, until, published, lastPublishAt, ratePerChannel),
    ),
  )
  const at = (ms: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, started + ms - Date.now())))
  return { published, lastPublishAt, started, done, at }
}
