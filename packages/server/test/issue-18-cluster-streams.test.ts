import {
  DEFAULT_CLUSTER_PARTITIONS as P,
  parsePartitionedCursor,
  partitionOf,
  partitionPrefix,
} from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import {
  openSse,
  type RedisClusterProcess,
  type SseEvent,
  type SseStream,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type RedisseServer } from '../src/index'

// Streams of a server on a real 3 + 3 Redis Cluster: delivery and resume
// across partitions, sharded pub/sub only, one subscriber connection per
// master, and a master killed or a slot moved while events flow.
let cluster: RedisClusterProcess
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})

/** A channel of each of `count` partitions, spread over every master. */
function channelsOver(count: number, tag: string): string[] {
  const out: string[] = []
  const used = new Set<number>()
  for (let i = 0; out.length < count; i++) {
    const channel = `${tag}:${i}`
    const partition = partitionOf(channel, P)
    if (used.has(partition)) continue
    used.add(partition)
    out.push(channel)
  }
  return out
}

async function start(
  prefix: string,
): Promise<{ server: RedisseServer; url: string; pub: Publisher }> {
  const server = createServer({
    logger: 'silent',
    public: true,
    prefix,
    redis: { cluster: cluster.urls.slice(0, 3) },
    probe: { interval: 300, timeout: 600 },
  })
  const { port } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({
    redis: { cluster: cluster.urls.slice(0, 3) },
    prefix,
    publishTimeout: 15_000,
  })
  return { server, url: `http://127.0.0.1:${port}`, pub }
}

const query = (channels: string[]) => `/?${channels.map((c) => `channel=${c}`).join('&')}`
const byChannel = (events: SseEvent[]) => {
  const out = new Map<string, unknown[]>()
  for (const e of events) {
    if (e.event === 'redisse:reset') continue
    const channel = e.id?.slice(e.id.indexOf('@') + 1) ?? ''
    out.set(channel, [...(out.get(channel) ?? []), JSON.parse(e.data)])
  }
  return out
}

async function sumStat(command: string): Promise<number> {
  let total = 0
  for (const node of cluster.nodes.filter((n) => n.alive)) {
    total += (await cluster.commandStats(node.port))[command] ?? 0
  }
  return total
}

describe('a server on Redis Cluster', () => {
  it('delivers every partition in publish order per channel, by SPUBLISH and never PUBLISH', async () => {
    const { server, url, pub } = await start(uniquePrefix('cs'))
    const channels = channelsOver(6, 'order')
    const stream = await openSse(url + query(channels))
    try {
      await stream.waitForComment('ok')
      const publishesBefore = await sumStat('publish')
      const spublishBefore = await sumStat('spublish')
      for (let i = 0; i < 60; i++) await pub.publish(channels[i % 6] as string, 'm', i)
      const events = await stream.waitForEvents(60, 10_000)
      const heard = byChannel(events)
      channels.forEach((channel, k) => {
        expect(heard.get(channel)).toEqual([...Array(10).keys()].map((n) => n * 6 + k))
      })
      for (const e of events) expect(parsePartitionedCursor(e.id ?? '')).toHaveLength(6)
      expect(await sumStat('spublish')).toBeGreaterThanOrEqual(spublishBefore + 60)
      expect(await sumStat('publish')).toBe(publishesBefore)
    } finally {
      stream.close()
      await pub.close()
      await server.close()
    }
  })

  it('holds at most one sharded subscriber connection per master', async () => {
    const { server, url, pub } = await start(uniquePrefix('cs'))
    const streams: SseStream[] = []
    try {
      for (const channels of [channelsOver(16, 'subs'), channelsOver(8, 'more')]) {
        const stream = await openSse(url + query(channels))
        await stream.waitForComment('ok')
        streams.push(stream)
      }
      for (const node of cluster.nodes.filter((n) => n.alive && n.role === 'master')) {
        const sharded = (await cluster.clientList(node.port)).filter((c) => Number(c.ssub ?? 0) > 0)
        expect(sharded.length, `sharded subscribers on ${node.port}`).toBeLessThanOrEqual(1)
      }
    } finally {
      for (const s of streams) s.close()
      await pub.close()
      await server.close()
    }
  })

  it('resumes a stream over several partitions exactly, once per event', async () => {
    const { server, url, pub } = await start(uniquePrefix('cs'))
    const channels = channelsOver(3, 'resume')
    try {
      const first = await openSse(url + query(channels))
      await first.waitForComment('ok')
      for (const channel of channels) await pub.publish(channel, 'm', `${channel}:1`)
      const seen = await first.waitForEvents(3)
      first.close()
      for (const channel of channels) await pub.publish(channel, 'm', `${channel}:2`)
      await pub.publish(channels[0] as string, 'm', `${channels[0]}:3`)
      const again = await openSse(url + query(channels), {
        headers: { 'last-event-id': seen[2]?.id ?? '' },
      })
      await again.waitForComment('ok')
      for (const channel of channels) await pub.publish(channel, 'm', `${channel}:end`)
      const events = await again.waitForEvents(7)
      const heard = byChannel(events)
      expect(heard.get(channels[0] as string)).toEqual(
        ['2', '3', 'end'].map((n) => `${channels[0]}:${n}`),
      )
      for (const channel of channels.slice(1)) {
        expect(heard.get(channel)).toEqual([`${channel}:2`, `${channel}:end`])
      }
      expect(events.filter((e) => e.event === 'redisse:reset')).toEqual([])
      again.close()
    } finally {
      await pub.close()
      await server.close()
    }
  })
})

/**
 * Publishes 1, 2, 3… on each channel until `stop()`, every publish retried
 * (idempotency key) until it lands, while a fault hits the cluster.
 */
function publishSteadily(pub: Publisher, channels: string[]) {
  const published = new Map<string, number>()
  let stopped = false
  const runs = channels.map(async (channel) => {
    for (let n = 1; !stopped; n++) {
      for (;;) {
        try {
          await pub.publish(channel, 'tick', n, { idempotencyKey: `${channel}-${n}` })
          break
        } catch {
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      published.set(channel, n)
      await new Promise((r) => setTimeout(r, 20))
    }
  })
  return {
    published,
    async stop() {
      stopped = true
      await Promise.all(runs)
    },
  }
}

/** Gaps, repeats and order of what one stream heard of a channel; a reset excuses a gap. */
function audit(events: SseEvent[], channel: string, last: number) {
  let expected = 1
  let lost = 0
  let duplicates = 0
  let excused = 0
  for (const e of events) {
    if (e.event === 'redisse:reset') {
      if ((JSON.parse(e.data) as { channels: string[] }).channels.includes(channel)) excused += 1
      continue
    }
    if (!e.id?.endsWith(`@${channel}`)) continue
    const n = JSON.parse(e.data) as number
    if (n < expected) duplicates += 1
    else {
      if (n > expected && excused === 0) lost += n - expected
      expected = n + 1
    }
  }
  if (expected <= last && excused === 0) lost += last + 1 - expected
  return { lost, duplicates }
}

describe.each([
  { fault: 'its master killed and a replica promoted', kill: true },
  { fault: 'its slot migrated to another master', kill: false },
])('a partition with $fault while events flow', ({ kill }) => {
  it('leaves every stream with every event once, in order, or a reset: never a silent gap', async () => {
    const prefix = uniquePrefix('cf')
    const { server, url, pub } = await start(prefix)
    const channels = channelsOver(4, kill ? 'kill' : 'move')
    const target = channels[0] as string
    const slotKey = `${partitionPrefix(prefix, partitionOf(target, P), P)}seq`
    const streams: SseStream[] = []
    try {
      for (let i = 0; i < 4; i++) {
        const stream = await openSse(url + query(channels))
        await stream.waitForComment('ok')
        streams.push(stream)
      }
      const load = publishSteadily(pub, channels)
      await new Promise((r) => setTimeout(r, 500))
      if (kill) await cluster.killMaster(slotKey)
      else await cluster.migrateSlot(slotKey)
      await new Promise((r) => setTimeout(r, 1500))
      await load.stop()
      // A marker per channel, after the fault: once every stream has them, nothing more is due.
      for (const channel of channels) await pub.publish(channel, 'tick', 0, {})
      await waitFor(
        () =>
          streams.every((s) =>
            channels.every((c) => s.events.some((e) => e.id?.endsWith(`@${c}`) && e.data === '0')),
          ),
        { what: 'every stream to hear the markers', timeout: 20_000 },
      )
      for (const stream of streams) {
        for (const channel of channels) {
          const events = stream.events.filter((e) => e.data !== '0')
          expect(audit(events, channel, load.published.get(channel) ?? 0), channel).toEqual({
            lost: 0,
            duplicates: 0,
          })
        }
      }
      expect(load.published.get(target)).toBeGreaterThan(20)
      // The fault reached the server: the partition's subscription was lost and came back.
      const stats = server.stats()
      expect(stats.broker.reconnects).toBeGreaterThan(0)
      const resets = streams.reduce(
        (n, s) => n + s.events.filter((e) => e.event === 'redisse:reset').length,
        0,
      )
      console.log(
        `cluster fault (${kill ? 'master killed' : 'slot migrated'}): ${JSON.stringify({ published: Object.fromEntries(load.published), recovered: stats.events.recovered, reconnects: stats.broker.reconnects, resets })}`,
      )
    } finally {
      for (const s of streams) s.close()
      await pub.close()
      await server.close()
    }
  }, 60_000)
})
