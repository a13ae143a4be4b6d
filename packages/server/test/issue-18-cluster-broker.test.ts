import { clusterSlot, type Envelope, partitionOf, partitionPrefix } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import {
  type RedisClusterProcess,
  startRedisCluster,
  startTcpProxy,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Broker, BrokerState, SubjectEdit } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger } from '../src/createLogger'
import { channelOfPartition } from './channelOfPartition'
import { clusterThroughProxy } from './clusterThroughProxy'

const P = 16
const PAGE = { maxEvents: 100, maxBytes: 1 << 20 }

const channelOf = (partition: number) => channelOfPartition(partition, P)

const isOurs = (client: Record<string, string>) =>
  // Replication links (S, M), the link a MIGRATE left open between two
  // nodes and the redis-cli asking are not the broker's.
  !/[SM]/.test(client.flags ?? '') && !['client|list', 'restore-asking'].includes(client.cmd ?? '')

describe('the Redis Cluster broker (issue 18)', () => {
  let cluster: RedisClusterProcess
  let broker: Broker
  let parts: readonly Broker[]
  const received: Envelope[][] = Array.from({ length: P }, () => [])
  const states: BrokerState[][] = Array.from({ length: P }, () => [])
  const edits: SubjectEdit[] = []
  const prefix = uniquePrefix('cluster')
  // Slots as numbers: the harness would ask a node to hash a key, and that node may be the killed one.
  const slotKey = (p: number) => clusterSlot(`${partitionPrefix(prefix, p, P)}seq`)
  const masterPortOf = async (p: number) => (await cluster.masterOf(slotKey(p))).port
  const masters = async () =>
    (await cluster.refresh()).filter((n) => n.role === 'master' && n.alive)

  /** Publishes (retrying while the cluster settles) and waits for the envelope on its partition. */
  const roundTrip = async (channel: string, data: unknown) => {
    const p = partitionOf(channel, P)
    const cursor = await waitFor(
      () => broker.publish({ channel, type: 'e', data }).catch(() => ''),
      {
        timeout: 15_000,
        interval: 100,
        what: `a publish on ${channel}`,
      },
    )
    const id = cursor.slice(0, cursor.indexOf('@'))
    await waitFor(() => received[p]?.some((e) => e.id === id), {
      timeout: 5000,
      what: `the envelope ${id} on partition ${p}`,
    })
    return id
  }

  beforeAll(async () => {
    cluster = await startRedisCluster()
    broker = createClusterBroker({
      cluster: cluster.urls.slice(0, 2),
      partitions: P,
      prefix,
      logger: createLogger({ level: 'silent' }),
      commandTimeout: 2000,
      probe: { interval: 500, timeout: 1500 },
    })
    parts = broker.partitions ?? []
    parts.forEach((part, p) => {
      part.onEnvelope((envelope) => received[p]?.push(envelope))
      part.onState((state) => states[p]?.push(state))
    })
    broker.onSubjectEdit((edit) => edits.push(edit))
    await broker.ready()
    await broker.configureHistory({ size: 100, ttl: 60_000, rules: [] })
    for (let p = 0; p < P; p++) await parts[p]?.subscribe(channelOf(p))
  }, 60_000)

  afterAll(async () => {
    await broker?.close()
    await cluster?.stop()
  })

  it('is partitioned: one ready broker per partition, each with its own log', async () => {
    expect(broker.kind).toBe('redis')
    expect(parts).toHaveLength(P)
    expect(broker.state).toBe('ready')
    expect(parts.every((part) => part.state === 'ready')).toBe(true)
  })

  it('delivers each partition its own envelopes in order, with heads and histories per partition', async () => {
    const chosen = [0, 5, 11]
    const before = await Promise.all(chosen.map((p) => parts[p]?.head()))
    const ids: string[][] = chosen.map(() => [])
    for (let i = 0; i < 5; i++) {
      for (const [j, p] of chosen.entries()) {
        ids[j]?.push(
          (await broker.publish({ channel: channelOf(p), type: 'e', data: { i } })).split('@')[0] ??
            '',
        )
      }
    }
    for (const [j, p] of chosen.entries()) {
      const channel = channelOf(p)
      await waitFor(() => received[p]?.filter((e) => e.channel === channel).length === 5, {
        what: `5 envelopes on partition ${p}`,
      })
      expect(received[p]?.map((e) => e.id)).toEqual(ids[j])
      expect(received[p]?.map((e) => e.data)).toEqual(
        [0, 1, 2, 3, 4].map((i) => JSON.stringify({ i })),
      )
      const head = await parts[p]?.head()
      // Each partition counts its own sequence: 5 publishes, 5 more.
      expect(head?.seq).toBe((before[j]?.seq ?? 0) + 5)
      expect(head?.epoch).toMatch(/.+/)
      const page = await parts[p]?.histories({ channels: [channel], after: [0], ...PAGE })
      expect(page?.envelopes.map((e) => e.id)).toEqual(ids[j])
      expect(page).toMatchObject({ complete: true, covered: [true], head: head?.seq })
    }
    // Independent logs: the three partitions have their own epochs.
    const epochs = new Set(
      (await Promise.all(chosen.map((p) => parts[p]?.head()))).map((h) => h?.epoch),
    )
    expect(epochs.size).toBe(3)
  })

  it('publishes by SPUBLISH and holds at most one sharded subscriber connection per master', async () => {
    const nodes = await masters()
    const sum = async (command: string) =>
      (await Promise.all(nodes.map((n) => cluster.commandStats(n.port)))).reduce(
        (total, stats) => total + (stats[command] ?? 0),
        0,
      )
    const [publishBefore, spublishBefore] = [await sum('publish'), await sum('spublish')]
    for (let i = 0; i < 20; i++)
      await broker.publish({ channel: channelOf(i % P), type: 'e', data: i })
    // Nothing goes by plain PUBLISH (the probes SPUBLISH too); every event by SPUBLISH.
    expect((await sum('publish')) - publishBefore).toBe(0)
    expect((await sum('spublish')) - spublishBefore).toBeGreaterThanOrEqual(20)
    let sharded = 0
    for (const node of nodes) {
      const subscribers = (await cluster.clientList(node.port)).filter(
        (c) => Number(c.ssub ?? 0) > 0,
      )
      expect(subscribers.length, `sharded subscribers on ${node.port}`).toBe(1)
      sharded += subscribers.length
    }
    expect(sharded).toBe(nodes.length)
    // And one plain subscriber (the control channel) for the whole cluster.
    const plain = (
      await Promise.all(
        nodes.map(async (n) =>
          (await cluster.clientList(n.port)).filter((c) => Number(c.sub ?? 0) > 0),
        ),
      )
    ).flat()
    expect(plain).toHaveLength(1)
  })

  it('resolves tokens and delivers subject edits through the control channel', async () => {
    const token = await broker.subjects.generateToken('user-7', { ttl: 60_000 })
    expect(await broker.subjects.addChannel('user-7', channelOf(3))).toBe(true)
    await waitFor(() => edits.some((e) => e.op === 'add' && e.subject === 'user-7'), {
      what: 'the add edit',
    })
    expect(edits).toContainEqual({ op: 'add', subject: 'user-7', channel: channelOf(3) })
    const grant = await broker.resolveToken(token)
    expect(grant).toMatchObject({ subject: 'user-7', channels: [channelOf(3)] })
    expect(grant?.token?.expiresAt).toBeGreaterThan(Date.now())
    expect(await broker.subjects.channels('user-7')).toEqual([channelOf(3)])
    expect(await broker.resolveToken('rt_not-a-token')).toBeUndefined()
  })

  it('hears an outside publisher of the same partition count, and stores its settings in every partition', async () => {
    const outside = createPublisher({ redis: { cluster: cluster.urls, partitions: P }, prefix })
    const reader = new Cluster(
      cluster.urls
        .slice(0, 1)
        .map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    )
    try {
      const cursor = await outside.publish(channelOf(4), 'e', 'from outside')
      const id = cursor.slice(0, cursor.indexOf('@'))
      await waitFor(() => received[4]?.some((e) => e.id === id), { what: 'the outside event' })
      for (let p = 0; p < P; p++) {
        expect(await reader.hgetall(`${partitionPrefix(prefix, p, P)}config`)).toEqual({
          historySize: '100',
          historyTtl: '60000',
          partitions: String(P),
        })
      }
    } finally {
      await outside.close()
      reader.disconnect()
    }
  })

  it('reconnects a subscriber connection that went silent without closing (canary probe)', async () => {
    const target = 6
    const port = await masterPortOf(target)
    const proxy = await startTcpProxy(port)
    // Every connection to that master goes through the proxy, which can go silent.
    const given = clusterThroughProxy(cluster, port, proxy.port)
    const second = createClusterBroker({
      cluster: given,
      partitions: P,
      prefix,
      logger: createLogger({ level: 'silent' }),
      commandTimeout: 2000,
      probe: { interval: 200, timeout: 600 },
    })
    const seen: Envelope[] = []
    const flow: BrokerState[] = []
    const part = second.partitions?.[target]
    try {
      part?.onEnvelope((e) => seen.push(e))
      part?.onState((state) => flow.push(state))
      await second.ready()
      await part?.subscribe(channelOf(target))
      flow.length = 0
      proxy.freeze()
      await waitFor(() => part?.state === 'ready' && flow.includes('reconnecting'), {
        timeout: 10_000,
        what: 'the silent subscriber to be replaced',
      })
      expect(flow.slice(0, 2)).toEqual(['reconnecting', 'ready'])
      const cursor = await waitFor(
        () => second.publish({ channel: channelOf(target), type: 'e', data: 'x' }).catch(() => ''),
        { timeout: 10_000, interval: 100, what: 'a publish' },
      )
      const id = cursor.slice(0, cursor.indexOf('@'))
      await waitFor(() => seen.some((e) => e.id === id), {
        what: 'the event on the new connection',
      })
    } finally {
      await second.close()
      given.disconnect()
      await proxy.close()
    }
  }, 30_000)

  it('reconnects the partitions of a killed master once its replica took over; the others stay ready', async () => {
    const victim = 2
    const port = await masterPortOf(victim)
    const hit: number[] = []
    const spared: number[] = []
    for (let p = 0; p < P; p++) ((await masterPortOf(p)) === port ? hit : spared).push(p)
    for (const s of states) s.length = 0
    await cluster.killMaster(slotKey(victim))
    for (const p of hit) {
      await waitFor(() => parts[p]?.state === 'ready' && states[p]?.includes('reconnecting'), {
        timeout: 15_000,
        what: `partition ${p} to come back`,
      }).catch((err: unknown) => {
        throw new Error(
          `${String(err)}: it is ${parts[p]?.state}, went ${JSON.stringify(states[p])}`,
        )
      })
      expect(states[p]).toEqual(['reconnecting', 'ready'])
    }
    for (const p of spared) expect(states[p], `partition ${p}`).toEqual([])
    await roundTrip(channelOf(victim), 'after the failover')
    // Subject edits still arrive (the control subscriber may have been on the killed node).
    let n = 0
    await waitFor(
      async () => {
        n += 1
        await broker.subjects.addChannel('user-8', `late:${n}`).catch(() => false)
        return edits.some((e) => e.op === 'add' && e.subject === 'user-8')
      },
      { timeout: 15_000, interval: 200, what: 'a subject edit after the failover' },
    )
    // Still one sharded subscriber per live master.
    for (const node of await masters()) {
      const subscribers = (await cluster.clientList(node.port)).filter(
        (c) => Number(c.ssub ?? 0) > 0,
      )
      expect(subscribers.length, `sharded subscribers on ${node.port}`).toBe(1)
    }
  }, 40_000)

  it('follows a partition whose slot migrates: reconnecting, then ready on the new owner', async () => {
    const moved = 9
    const from = await masterPortOf(moved)
    for (const s of states) s.length = 0
    const to = await cluster.migrateSlot(slotKey(moved))
    await waitFor(
      () => parts[moved]?.state === 'ready' && states[moved]?.includes('reconnecting'),
      {
        timeout: 10_000,
        what: 'the moved partition to come back',
      },
    )
    expect(states[moved]).toEqual(['reconnecting', 'ready'])
    for (let p = 0; p < P; p++) if (p !== moved) expect(states[p], `partition ${p}`).toEqual([])
    await roundTrip(channelOf(moved), 'after the migration')
    // Its channel is subscribed on the new owner and no longer on the old one.
    const pubsub = `${partitionPrefix(prefix, moved, P)}ch:${channelOf(moved)}`
    const subscribersOf = async (port: number) => {
      const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
      try {
        const [, count] = (await node.call('PUBSUB', 'SHARDNUMSUB', pubsub)) as [string, number]
        return count
      } finally {
        node.disconnect()
      }
    }
    expect(await subscribersOf(to)).toBe(1)
    expect(await subscribersOf(from)).toBe(0)
    expect(from).not.toBe(to)
  }, 30_000)

  it('follows a graceful failover: the partitions of the demoted master come back on the promoted replica', async () => {
    const nodes = await cluster.refresh()
    const withReplica = (port: number) => {
      const master = nodes.find((n) => n.port === port)
      return nodes.some((n) => n.alive && n.masterId === master?.id)
    }
    let chosen: number | undefined
    for (let p = 0; p < P && chosen === undefined; p++) {
      if (withReplica(await masterPortOf(p))) chosen = p
    }
    if (chosen === undefined) throw new Error('no master with a replica is left')
    const port = await masterPortOf(chosen)
    const hit: number[] = []
    for (let p = 0; p < P; p++) if ((await masterPortOf(p)) === port) hit.push(p)
    for (const s of states) s.length = 0
    const promoted = await cluster.failover(slotKey(chosen))
    expect(promoted).not.toBe(port)
    expect(await masterPortOf(chosen)).toBe(promoted)
    // Every partition of the demoted master is ready again and delivers.
    // Most often each went reconnecting → ready. A subscription may also
    // outlive the failover, since the demoted node, now a replica, still
    // gets its master's sharded messages, and Redis 7.0 does not always
    // unsubscribe it; then no partition changes state, and that is no
    // fault. What must hold is delivery on every partition, or a loss the
    // partition says (reconnecting, so its hub recovers from history), never
    // a silent one.
    const backOn = (p: number) =>
      waitFor(() => parts[p]?.state === 'ready' && states[p]?.at(-1) !== 'reconnecting', {
        timeout: 15_000,
        what: `partition ${p} to come back`,
      }).catch((err: unknown) => {
        throw new Error(
          `${String(err)}: it is ${parts[p]?.state}, went ${JSON.stringify(states[p])}`,
        )
      })
    for (const p of hit) {
      await backOn(p)
      const seen = states[p]?.length ?? 0
      try {
        await roundTrip(channelOf(p), `after the graceful failover, on partition ${p}`)
      } catch (err) {
        // Not heard: the subscription was lost after the failover after
        // all, when the partition looked ready. Its canary must have said so.
        const said = () => states[p]?.slice(seen).includes('reconnecting')
        await waitFor(said, {
          timeout: 5000,
          what: `partition ${p}, deaf after the failover, to say so (${String(err)})`,
        })
        await backOn(p)
        await roundTrip(channelOf(p), `after the graceful failover, on partition ${p}, again`)
      }
    }
    for (let p = 0; p < P; p++)
      if (!hit.includes(p)) expect(states[p], `partition ${p}`).toEqual([])
  }, 30_000)

  // Seen on CI: a close after the canary test hung for good when the
  // silent node was the one carrying the control subscription of a Cluster
  // the broker does not own (its UNSUBSCRIBE was never answered), and the
  // connections it left failed the next test.
  it('closes while every node it reaches is silent, over a Cluster it does not own', async () => {
    const ports = cluster.urls.map((url) => Number(new URL(url).port))
    const proxies = await Promise.all(ports.map((port) => startTcpProxy(port)))
    const given = new Cluster(
      proxies.map((proxy) => ({ host: '127.0.0.1', port: proxy.port })),
      {
        natMap: Object.fromEntries(
          ports.map((port, i) => [
            `127.0.0.1:${port}`,
            { host: '127.0.0.1', port: proxies[i]?.port ?? 0 },
          ]),
        ),
      },
    )
    const silent = createClusterBroker({
      cluster: given,
      partitions: P,
      prefix,
      logger: createLogger({ level: 'silent' }),
      commandTimeout: 500,
      probe: false,
    })
    try {
      await silent.ready()
      for (const proxy of proxies) proxy.freeze()
      await silent.close()
    } finally {
      given.disconnect()
      await Promise.all(proxies.map((proxy) => proxy.close()))
    }
  }, 15_000)

  it('leaves no connection on any node once closed', async () => {
    const nodes = (await cluster.refresh()).filter((n) => n.alive)
    const ours = async () =>
      (await Promise.all(nodes.map((n) => cluster.clientList(n.port)))).flat().filter(isOurs)
    expect((await ours()).length).toBeGreaterThan(0)
    await broker.close()
    expect(broker.state).toBe('closed')
    expect(parts.every((part) => part.state === 'closed')).toBe(true)
    await expect(parts[0]?.subscribe('late')).rejects.toMatchObject({ code: 'broker-unavailable' })
    await waitFor(async () => (await ours()).length === 0, {
      timeout: 5000,
      what: 'no client left',
    })
  })
})
