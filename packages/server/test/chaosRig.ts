import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Publisher } from '@redisse/publisher'
import { waitFor } from '@redisse/test-utils'
import { afterAll } from 'vitest'

// The chaos suites' rig: server nodes as real processes, killed at will,
// and a publisher that lands every counter exactly once.
const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
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
  const child = spawn(
    process.execPath,
    [
      '--conditions=@redisse/source',
      '--import',
      'tsx',
      cliPath,
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
