import { DEFAULT_CLUSTER_PARTITIONS as P, partitionOf, partitionPrefix } from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import { freePort, type RedisClusterProcess, startRedisCluster } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import type { ChaosClient } from './chaosClient'
import {
  auditClients,
  caughtUp,
  chaosClients,
  kill,
  publishAll,
  startDropping,
  startNode,
  watchStranded,
} from './chaosRig'

// The chaos test on Redis Cluster: two server nodes as real processes (one
// of them with two workers) on a 3 + 3 cluster, reconnecting clients over
// channels of several partitions, a steady publisher, and meanwhile a
// master killed (its replica promoted), a partition's slot migrated to
// another master, a node killed and restarted, and client sockets cut at
// random. Every client must end with every event of its channels exactly
// once and in order, or a `redisse:reset` for a gap (a promoted replica
// that lagged loses events), and no stream may stay open and silent.
const CLIENTS = 120
const RATE_PER_CHANNEL = 20 // events/s
const PUBLISH_FOR = 12_000 // ms
const PREFIX = 'chaosc:'

/** Six channels of six partitions, over all three masters. */
const CHANNELS = (() => {
  const out: string[] = []
  const used = new Set<number>()
  for (let i = 0; out.length < 6; i++) {
    const partition = partitionOf(`c${i}`, P)
    if (used.has(partition)) continue
    used.add(partition)
    out.push(`c${i}`)
  }
  return out
})()
const slotKeyOf = (channel: string) => `${partitionPrefix(PREFIX, partitionOf(channel, P), P)}seq`

it('loses and repeats nothing across a master killed, a slot migrated, a node crash and socket drops', async () => {
  let cluster: RedisClusterProcess | undefined
  let pub: Publisher | undefined
  const clients: ChaosClient[] = []
  try {
    cluster = await startRedisCluster()
    const env = { REDIS_CLUSTER: cluster.urls.slice(0, 3).join(','), REDISSE_PREFIX: PREFIX }
    const [portA, portB] = [await freePort(), await freePort()]
    const a = await startNode(env, portA, ['--workers', '2'])
    let b = await startNode(env, portB)
    const nodes = [a.url, b.url]
    clients.push(...chaosClients(nodes, CHANNELS, CLIENTS))
    await Promise.all(clients.map((c) => c.ready))

    pub = createPublisher({
      redis: { cluster: cluster.urls.slice(0, 3) },
      prefix: PREFIX,
      publishTimeout: 10_000,
    })
    const {
      published,
      lastPublishAt,
      started,
      done: publishing,
      at,
    } = publishAll(pub, CHANNELS, PUBLISH_FOR, RATE_PER_CHANNEL)
    const stranded = watchStranded(clients, lastPublishAt, started)
    const stopDropping = await startDropping(clients, 4)

    let sharded = 0
    try {
      await at(2000)
      await cluster.killMaster(slotKeyOf(CHANNELS[0] as string))
      await at(5000)
      await cluster.migrateSlot(slotKeyOf(CHANNELS[1] as string))
      await at(7000)
      await kill(b)
      await at(8000)
      b = await startNode(env, portB)
      // Every worker of both nodes holds at most one sharded subscriber per master.
      for (const node of await cluster.refresh()) {
        if (!node.alive || node.role !== 'master') continue
        const subs = (await cluster.clientList(node.port)).filter((c) => Number(c.ssub ?? 0) > 0)
        sharded = Math.max(sharded, subs.length)
      }
      await publishing
    } finally {
      stopDropping()
    }

    const done = await caughtUp(clients, published)
    stranded.stop()
    if (stranded.lines.length > 0)
      console.log(`stranded: ${stranded.lines.slice(0, 10).join('; ')}`)
    const figures = { ...auditClients(clients, published), shardedSubscribersPerMaster: sharded }
    console.log(`chaos figures (cluster): ${JSON.stringify(figures)}`)
    expect(figures.events).toBeGreaterThan(CHANNELS.length * 50)
    expect(figures.reconnects).toBeGreaterThan(CLIENTS / 2)
    expect(figures.replayedOnResume).toBeGreaterThan(0)
    expect({
      duplicates: figures.duplicates,
      outOfOrder: figures.outOfOrder,
      lost: figures.lost,
      stranded: figures.stranded,
      caughtUp: done,
    }).toEqual({ duplicates: 0, outOfOrder: 0, lost: 0, stranded: 0, caughtUp: true })
    // Node A's two workers and node B: three processes, one sharded connection each per master.
    expect(sharded).toBeGreaterThan(0)
    expect(sharded).toBeLessThanOrEqual(3)
    await kill(a)
    await kill(b)
  } finally {
    for (const client of clients) client.close()
    await pub?.close()
    await cluster?.stop()
  }
}, 120_000)
