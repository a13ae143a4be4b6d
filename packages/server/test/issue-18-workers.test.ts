import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs'
import { createPublisher } from '@redisse/publisher'
import {
  isAlive,
  openSse,
  type RedisProcess,
  type SseStream,
  startRedis,
  waitFor,
} from '@redisse/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATS_KEY, startCli } from './liveCli'

// `redisse-server --workers N`: N processes on one port (node:cluster), each
// with its own Redis connections; /stats and /metrics answer for the box.

let redis: RedisProcess
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

const nodeBinary = realpathSync(process.execPath)

/**
 * Node child processes of a pid (the workers), from /proc. Only node ones: on a
 * cold tsx cache the primary also has an esbuild service as a child.
 */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid && readlinkSync(`/proc/${name}/exe`) === nodeBinary) out.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

interface BoxStats {
  connections: number
  workers: { count: number; answered: number; each: Array<{ worker: number; connections: number }> }
}

async function statsOf(url: string): Promise<BoxStats> {
  const res = await fetch(`${url}/stats`, { headers: { authorization: `Bearer ${STATS_KEY}` } })
  return (await res.json()) as BoxStats
}

// Refused values of --workers are in cli.test.ts, with the other flags.
describe('--workers', () => {
  it('serves one port from two workers, delivers once to streams on both, sums /stats and drains on SIGTERM', async () => {
    const cli = await startCli(['--workers', '2', '--redis', redis.url])
    const streams: SseStream[] = []
    const pub = createPublisher({ redis: redis.url })
    try {
      await waitFor(
        async () => (await statsOf(cli.url).catch(() => undefined))?.workers.answered === 2,
        {
          what: 'both workers to answer',
          timeout: 20_000,
        },
      )
      const workerPids = childrenOf(cli.child.pid ?? 0)
      expect(workerPids).toHaveLength(2)
      for (let i = 0; i < 8; i++) streams.push(await openSse(`${cli.url}/?channel=box`))
      await waitFor(async () => (await statsOf(cli.url)).connections === 8, {
        what: '8 streams counted',
      })
      const stats = await statsOf(cli.url)
      expect(stats.workers.count).toBe(2)
      // The primary hands connections out in turn: both workers hold streams.
      expect(stats.workers.each.map((w) => w.connections).sort()).toEqual([4, 4])
      const metrics = await (
        await fetch(`${cli.url}/metrics`, { headers: { authorization: `Bearer ${STATS_KEY}` } })
      ).text()
      expect(metrics).toContain('\nredisse_connections 8\n')
      expect(metrics).toContain('\nredisse_workers 2\n')

      await pub.publish('box', 'hello', { n: 1 })
      await pub.publish('box', 'marker', {})
      for (const stream of streams) {
        const events = await stream.waitForEvents(2)
        expect(events.map((e) => e.event)).toEqual(['hello', 'marker'])
      }

      // A worker that dies is replaced, and the box serves on.
      const [victim] = workerPids as [number]
      process.kill(victim, 'SIGKILL')
      await waitFor(
        () => {
          const now = childrenOf(cli.child.pid ?? 0)
          return now.length === 2 && !now.includes(victim)
        },
        { what: 'the dead worker replaced', timeout: 15_000 },
      )
      await waitFor(
        async () => (await statsOf(cli.url).catch(() => undefined))?.workers.answered === 2,
        {
          what: 'both workers to answer again',
          timeout: 15_000,
        },
      )
      const late = await openSse(`${cli.url}/?channel=box`)
      streams.push(late)
      await pub.publish('box', 'again', {})
      expect((await late.waitForEvents(1)).map((e) => e.event)).toEqual(['again'])

      const pids = childrenOf(cli.child.pid ?? 0)
      cli.child.kill('SIGTERM')
      expect(await cli.exited).toBe(0)
      await Promise.all(streams.filter((s) => !s.isEnded).map((s) => s.ended))
      expect(pids.filter(isAlive)).toEqual([])
    } finally {
      for (const stream of streams) stream.close()
      await pub.close()
      await cli.stop()
    }
  }, 60_000)
})
