import { Cluster } from 'ioredis'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { isAlive } from '../src/isAlive'
import { type RedisClusterProcess, startRedisCluster } from '../src/startRedisCluster'

let cluster: RedisClusterProcess
let client: Cluster

beforeAll(async () => {
  cluster = await startRedisCluster()
  client = new Cluster(
    cluster.urls.slice(0, 1).map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    {
      clusterRetryStrategy: () => 100,
    },
  )
}, 60_000)

afterAll(async () => {
  client?.disconnect()
  await cluster?.stop()
})

test('starts 3 masters and 3 replicas serving every slot', async () => {
  const nodes = await cluster.refresh()
  expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3)
  expect(nodes.filter((n) => n.role === 'replica')).toHaveLength(3)
  expect(cluster.urls).toHaveLength(6)
  // Keys whose tags fall on each master's range are written and read through the cluster.
  for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) await client.set(`{${tag}}k`, tag)
  for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) expect(await client.get(`{${tag}}k`)).toBe(tag)
  const owners = new Set(
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map(async (t) => (await cluster.masterOf(`{${t}}k`)).port),
    ),
  )
  expect(owners.size).toBeGreaterThan(1)
})

test('carries sharded pub/sub to a subscriber of the slot owner', async () => {
  const sub = new Cluster(
    [{ host: '127.0.0.1', port: Number(new URL(cluster.urls[0] ?? '').port) }],
    {
      shardedSubscribers: true,
    } as never,
  )
  try {
    const heard: string[] = []
    sub.on('smessage', (_channel: string, message: string) => heard.push(message))
    await sub.ssubscribe('{t1}news')
    const owner = await cluster.masterOf('{t1}news')
    const before = (await cluster.commandStats(owner.port)).spublish ?? 0
    await client.spublish('{t1}news', 'hello')
    await expect.poll(() => heard, { timeout: 5000 }).toEqual(['hello'])
    expect((await cluster.commandStats(owner.port)).spublish).toBe(before + 1)
    const subscribers = (await cluster.clientList(owner.port)).filter(
      (c) => Number(c.ssub ?? 0) > 0,
    )
    expect(subscribers).toHaveLength(1)
  } finally {
    sub.disconnect()
  }
})

test('moves one slot with its keys to another master', async () => {
  await client.set('{m1}key', 'moved')
  const from = await cluster.masterOf('{m1}key')
  const to = await cluster.migrateSlot('{m1}key')
  expect(to).not.toBe(from.port)
  expect((await cluster.masterOf('{m1}key')).port).toBe(to)
  expect(await client.get('{m1}key')).toBe('moved')
}, 30_000)

test('kills a master and waits for its replica to take its slots over', async () => {
  await client.set('{k1}key', 'kept')
  await new Promise((r) => setTimeout(r, 200)) // replication is asynchronous
  const old = await cluster.masterOf('{k1}key')
  const promoted = await cluster.killMaster('{k1}key')
  expect(promoted).not.toBe(old.port)
  expect(isAlive(old.pid)).toBe(false)
  await expect
    .poll(() => client.get('{k1}key').catch(() => undefined), { timeout: 10_000 })
    .toBe('kept')
}, 40_000)

test('still finds the master of a key once the masters it started with are dead', async () => {
  // The test above killed one first master; these are the two others (the ones with a replica).
  const nodes = await cluster.refresh()
  const firsts = nodes.filter(
    (n) => n.role === 'master' && nodes.some((r) => r.masterId === n.id && r.alive),
  )
  for (const master of firsts) await cluster.killMaster(master.slots[0]?.[0] ?? 0)
  expect((await cluster.masterOf('{after}key')).alive).toBe(true)
}, 40_000)

test('stops every node it started', async () => {
  const pids = (await cluster.refresh()).map((n) => n.pid).filter((pid) => pid > 0)
  expect(pids.length).toBeGreaterThanOrEqual(5)
  client.disconnect()
  await cluster.stop()
  expect(pids.filter(isAlive)).toEqual([])
})
