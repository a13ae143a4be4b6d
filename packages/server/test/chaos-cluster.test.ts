import { DEFAULT_CLUSTER_PARTITIONS as P, partitionOf, partitionPrefix } from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import { freePort, type RedisClusterProcess, startRedisCluster, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { auditChannel, ChaosClient, STRANDED_AFTER } from './chaosClient'
import { kill, publishSteadily, startNode } from './chaosRig'

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
    for (let i = 0; i < CLIENTS; i++) {
      const channels = [CHANNELS[i % 6], CHANNELS[(i + 1 + (i % 5)) % 6]] as string[]
      clients.push(new ChaosClient(nodes, channels, i % 2))
    }
    await Promise.all(clients.map((c) => c.ready))

    pub = createPublisher({
      redis: { cluster: cluster.urls.slice(0, 3) },
      prefix: PREFIX,
      publishTimeout: 10_000,
    })
    const published = new Map<string, number>()
    const lastPublishAt = new Map<string, number>()
    const started = Date.now()
    const until = started + PUBLISH_FOR
    const publishing = Promise.all(
      CHANNELS.map((channel) =>
        publishSteadily(
          pub as Publisher,
          channel,
          until,
          published,
          lastPublishAt,
          RATE_PER_CHANNEL,
        ),
      ),
    )
    const strandedNow: string[] = []
    const monitor = setInterval(() => {
      const now = Date.now()
      clients.forEach((client, index) => {
        if (client.checkStranded(now, lastPublishAt)) {
          strandedNow.push(`client ${index}, silent from ${now - started - STRANDED_AFTER} ms`)
        }
      })
    }, 250)
    // A client dropped before its first event has no cursor to resume from
    // (EventSource's limit, on any server): drops start once every client holds one.
    await waitFor(() => clients.every((client) => client.lastEventId !== undefined), {
      what: 'every client to hold a cursor',
      timeout: 10_000,
    })
    const dropper = setInterval(() => {
      for (let i = 0; i < 4; i++) clients[Math.floor(Math.random() * CLIENTS)]?.drop()
    }, 300)
    const at = (ms: number) =>
      new Promise((r) => setTimeout(r, Math.max(0, started + ms - Date.now())))

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
      clearInterval(dropper)
    }

    const caughtUp = await waitFor(
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
    clearInterval(monitor)

    const totals = { received: 0, duplicates: 0, lost: 0, outOfOrder: 0, excused: 0 }
    const lostDetails: string[] = []
    clients.forEach((client, index) => {
      for (const [channel, log] of client.logs) {
        const audit = auditChannel(log, published.get(channel) ?? 0)
        for (const key of Object.keys(totals) as Array<keyof typeof totals>)
          totals[key] += audit[key]
        if (audit.lostCounters.length > 0) {
          lostDetails.push(`client ${index} ${channel}: ${audit.lostCounters.join(',')}`)
          if (process.env.CHAOS_TRACE) {
            const lost = audit.lostCounters[0] ?? 0
            for (const t of client.trace) {
              const near = t.ids.filter((id) => {
                const n = Number(id.slice(id.lastIndexOf('=') + 1))
                return id.includes(`@${channel}`) && Math.abs(n - lost) <= 3
              })
              console.log(
                `  TRACE client ${index} ${channel} ${t.node} status=${t.status} sent=${t.sent} n=${t.ids.length} first=${t.ids[0]} last=${t.ids[t.ids.length - 1]} near=${near.join(' ')}`,
              )
            }
          }
        }
      }
    })
    if (lostDetails.length > 0) console.log(`lost: ${lostDetails.slice(0, 10).join('; ')}`)
    if (strandedNow.length > 0) console.log(`stranded: ${strandedNow.slice(0, 10).join('; ')}`)
    const figures = {
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
      shardedSubscribersPerMaster: sharded,
    }
    console.log(`chaos figures (cluster): ${JSON.stringify(figures)}`)
    expect(figures.events).toBeGreaterThan(CHANNELS.length * 50)
    expect(figures.reconnects).toBeGreaterThan(CLIENTS / 2)
    expect(figures.replayedOnResume).toBeGreaterThan(0)
    expect({
      duplicates: figures.duplicates,
      outOfOrder: figures.outOfOrder,
      lost: figures.lost,
      stranded: figures.stranded,
      caughtUp,
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
